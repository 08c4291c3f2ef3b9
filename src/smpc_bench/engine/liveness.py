"""Watch a run's peer connections: a lost, silent or foreign peer stops the run, at once, cleanly.

MPyC 0.11 has no notion of a lost peer.  ``MessageExchanger.connection_lost`` raises the error
inside an asyncio callback that nobody awaits, so the other parties log a traceback and wait for
messages that never come; a stopped (SIGSTOP), sleeping or unplugged party keeps its connection
open and sends nothing, which nothing notices.  Armed for a run (:func:`arm`, which
:func:`smpc_bench.engine.driver.run` does with other parties), this module adds to every peer
connection:

* **Hello** (isolation).  Before MPyC sees a single byte, both ends exchange a hello frame (JSON,
  never unpickled: MPyC unpickles everything after it): version, sender and intended receiver,
  number of parties, the round tag (hash of the agreed spec and step settings) and the sender's
  fresh random nonce.  The connecting side sends MPyC's own handshake (its index, PRSS keys)
  only once the other side's hello is accepted, right after an ack frame (so that the accepting
  side knows where MPyC's bytes begin, and checks the index they announce).  A peer from
  another round, not the party expected at that address, claiming an index that is connected
  already, or (with TLS) whose certificate does not name its ``[[parties]]`` entry, is refused:
  it is told why and both ends stop with :class:`~smpc_bench.engine.driver.PeerRefusedError`.
  The parties' nonces make the :func:`round_id` they compare when agreeing on the spec, so two
  processes of one party (a rerun while an old run is alive) cannot both end up in one round.
* **Loss.**  ``connection_lost`` of a peer that has not said goodbye fails the run with
  :class:`~smpc_bench.engine.driver.PartyLostError`.  The goodbye is a frame sent by
  ``MessageExchanger.close_connection``, which MPyC calls only at the end of its shutdown, after
  every party has passed the shutdown barrier.
* **Silence.**  Every connection carries a heartbeat frame every tick (a tenth of the progress
  timeout, between 0.2 and 5 s); a peer from which nothing at all (data or heartbeat) arrived
  for the progress timeout fails the run with :class:`~smpc_bench.engine.driver.PartyStalledError`.
* **Abort.**  Whatever ends the run early at a party, it tells the peers still connected (an
  abort frame: what happened, to whom) before it closes its connections, so that they stop too
  and name the party that caused it, not the messenger.

A failure resolves one future, which every :func:`smpc_bench.engine.driver.phase` races against
(:func:`enter_phase`, :func:`error`), so the phase that was waiting ends at once with a message
naming the party, the phase and what to do.

Why the heartbeats are sent from the event loop and not from a thread: a thread cannot write to
the connection safely.  asyncio transports are not thread-safe, a frame written by a thread could
land in the middle of an MPyC frame still half in the transport's buffer, and with TLS the
encryption state belongs to the loop.  ``loop.call_soon_threadsafe`` does not help either: the
callback runs only when the loop is free again, exactly like a timer.  So a party whose event
loop is blocked by one long local step sends nothing meanwhile, and the progress timeout must be
longer than the longest such step (MPyC splits a computation into many small callbacks: the
longest measured pause is in ``benchmarks/bench_faults.py``).  A thread does watch this party's
own loop and warns (once) when it has been blocked for half the progress timeout, and the
receiving side never counts its *own* pauses against a peer: a watchdog tick that runs late
skips its check until the data that arrived meanwhile has been read.

MPyC internals used (see the inventory in :mod:`smpc_bench.engine`):
``MessageExchanger.connection_made``, ``.connection_lost`` and ``.close_connection`` (replaced
while armed), ``.peer_pid``, ``.transport``; ``Runtime._loop``, ``.options.ssl``, ``.parties``,
``.pid``; the frames go through :mod:`smpc_bench.engine.frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from smpc_bench.engine import faults, frames
from smpc_bench.engine.errors import PartyLostError, PartyStalledError, PeerRefusedError
from smpc_bench.engine.patches import Patch
from smpc_bench.engine.peer_messages import (
    Failure,
    clean,
    failure_message,
    refusal_text,
    refused_text,
)
from smpc_bench.inputs.consortium import is_loopback
from smpc_bench.spec.round_spec import DEFAULT_PROGRESS_TIMEOUT

__all__ = ["CONTROL_PC", "VERSION", "Failure", "Settings", "arm", "configure", "details",
           "disarm", "enter_phase", "error", "failed", "longest_pause", "racing", "round_id",
           "stop_after", "tick_seconds"]

#: Program counter of the liveness frames (another reserved one than the lock-step's
#: :data:`smpc_bench.costs.lockstep.MARKER_PC`; MPyC's own are 64-bit hashes).
CONTROL_PC = -0x5A17C0575EC0FFED
#: Version of the hello; parties of other versions are refused.
VERSION = 1

_HELLO, _HEARTBEAT, _BYE, _ABORT, _REFUSE, _ACK = 1, 2, 3, 4, 5, 6
#: Largest frame accepted before a peer's hello: a stranger must not make this party buffer.
_MAX_HELLO_BYTES = 16_384
#: Seconds a failing party waits for its last frames to go out.
_DRAIN_SECONDS = 1.0
#: Failure kinds and the error each becomes.
_ERRORS: dict[str, type[PartyLostError]] = {
    "lost": PartyLostError, "error": PartyLostError, "stalled": PartyStalledError,
    "refused": PeerRefusedError}


def tick_seconds(progress_timeout: float) -> float:
    """Heartbeat and watchdog interval: a tenth of the progress timeout, within 0.2-5 s."""
    return min(5.0, max(0.2, progress_timeout / 10))


@dataclass(frozen=True)
class Settings:
    """What the watch of one run needs to know.

    Attributes:
        round_tag: What the parties of this round share (the spec hash and step settings);
            a peer with another tag is refused on connect.
        progress_timeout: Seconds of silence after which a peer counts as stalled.
        names: The firms' names by party index (messages; with TLS, each peer's certificate
            must name its firm as its organization).
        local_only: Accept connections from this machine only (None: when TLS is off and
            every party's address is a loopback address).
        warn: Where a warning about this party's own blocked event loop goes (None: nowhere).
    """

    round_tag: str = ""
    progress_timeout: float = float(DEFAULT_PROGRESS_TIMEOUT)
    names: tuple[str, ...] = ()
    local_only: bool | None = None
    warn: Callable[[str], None] | None = None


@dataclass(eq=False)
class _Peer:
    protocol: Any
    pid: int | None  # None: a connecting peer that has not introduced itself yet
    accepting: bool  # this party accepted the connection (MPyC's server side)
    address: str = "?"
    last_heard: float = 0.0
    admitted: bool = False
    refused: bool = False
    said_bye: bool = False
    closing: bool = False
    closed: bool = False
    confirmed: bool = False  # accepting side: the peer accepted our hello (an ack frame)
    pid_checked: bool = False  # accepting side: MPyC's index bytes equal the hello's
    pid_bytes: bytes = b""
    nonce: str = ""
    hello: bytearray = field(default_factory=bytearray)

    @property
    def open(self) -> bool:
        return self.admitted and not (self.closed or self.closing or self.refused)


class _Watch:
    """The watch of one run (one runtime, one event loop)."""

    def __init__(self, mpc: Any, settings: Settings) -> None:
        self.mpc = mpc
        self.loop = mpc._loop
        self.pid = int(mpc.pid)
        self.m = len(mpc.parties)
        self.settings = settings
        self.nonce = os.urandom(16).hex()
        self.failure: asyncio.Future[Failure] = self.loop.create_future()
        self.peers: dict[Any, _Peer] = {}
        self.phase = "connecting"
        self.events: list[str] = []
        self.patches: list[Patch] = []
        self.timer: asyncio.TimerHandle | None = None
        self.due = 0.0
        self.alive_at = time.monotonic()
        self.pause = 0.0
        self.admissions = 0
        self.racing = 0
        self.main_task: asyncio.Task[Any] | None = None
        self.stopping = False
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.made: Callable[[Any, Any], None] = lambda protocol, transport: None

    # -- settings and wiring ---------------------------------------------------------------

    @property
    def tick(self) -> float:
        return tick_seconds(self.settings.progress_timeout)

    @property
    def local_only(self) -> bool:
        if self.settings.local_only is not None:
            return self.settings.local_only
        return not self.mpc.options.ssl and all(is_loopback(str(p.host)) for p in
                                                self.mpc.parties if p.pid != self.pid)

    def who(self, pid: int | None) -> str:
        if pid is None:
            return "a peer"
        names = self.settings.names
        return f"party {pid} ({names[pid]})" if 0 <= pid < len(names) else f"party {pid}"

    def note(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.events.append(f"{stamp} [{self.phase}] {text}")
        del self.events[:-500]

    def install(self) -> None:
        from mpyc import asyncoro

        exchanger = asyncoro.MessageExchanger
        self.made, lost, close = (exchanger.connection_made, exchanger.connection_lost,
                                  exchanger.close_connection)
        watch = self

        def connection_made(protocol: Any, transport: Any) -> None:
            watch.connection_made(protocol, transport)

        def connection_lost(protocol: Any, exc: BaseException | None) -> None:
            watch.connection_lost(protocol, exc, lost)

        def close_connection(protocol: Any) -> None:
            peer = watch.peers.get(protocol)
            if peer is not None:
                frames.send_frame(protocol, CONTROL_PC, bytes([_BYE]))
                peer.closing = True
            close(protocol)

        connect = self.loop.create_connection

        async def create_connection(*args: Any, **kwargs: Any) -> Any:
            # MPyC's start() retries every failed connect forever, also one whose TLS
            # certificate does not verify: that is no reason to wait, it never heals.
            try:
                return await connect(*args, **kwargs)
            except ssl.SSLError as error:
                watch.tls_failed(error, args, kwargs)
                raise

        self.patches = [Patch(exchanger, "connection_made", connection_made).install(),
                        Patch(exchanger, "connection_lost", connection_lost).install(),
                        Patch(exchanger, "close_connection", close_connection).install(),
                        Patch(self.loop, "create_connection", create_connection).install()]
        frames.install()
        frames.register(CONTROL_PC, self.control)
        frames.set_gate(self.gate)
        frames.set_observer(self.heard)
        if self.loop.get_exception_handler() in (None, asyncoro.exception_handler):
            # MPyC's handler prints; after a lost peer, MPyC's orphaned tasks must not.
            self.loop.set_exception_handler(_log_exception)
        self.due = self.loop.time() + self.tick
        self.timer = self.loop.call_later(self.tick, self.on_tick)
        self.thread = threading.Thread(target=self.watch_own_loop, daemon=True,
                                       name="smpc-bench liveness")
        self.thread.start()

    def uninstall(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.stop_event.set()
        frames.register(CONTROL_PC, None)
        frames.set_gate(None)
        frames.set_observer(None)
        for patch in reversed(self.patches):
            patch.uninstall()
        self.patches = []

    # -- connections -----------------------------------------------------------------------

    def connection_made(self, protocol: Any, transport: Any) -> None:
        protocol.transport = transport
        accepting = protocol.peer_pid is None
        peername = transport.get_extra_info("peername")
        address = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else "?"
        peer = _Peer(protocol, protocol.peer_pid, accepting, address, self.loop.time())
        self.peers[protocol] = peer
        if self.failure.done() or self.stopping:  # too late: say why, and hang up
            frames.send_frame(protocol, CONTROL_PC, self.abort_frame(self.failure.result()))
            peer.refused = True
            transport.close()
            return
        if not accepting:
            self.send_hello(peer)

    def send_hello(self, peer: _Peer) -> None:
        hello = {"version": VERSION, "from": self.pid, "to": peer.pid, "parties": self.m,
                 "round": self.settings.round_tag, "nonce": self.nonce}
        frames.send_frame(peer.protocol, CONTROL_PC,
                          bytes([_HELLO]) + json.dumps(hello).encode())

    def gate(self, protocol: Any, data: bytes) -> bytes | None:
        """Hold a connection's bytes until its hello is accepted (see :mod:`frames`)."""
        peer = self.peers.get(protocol)
        if peer is None:
            return data
        if peer.refused or peer.closed:
            return None
        if peer.admitted and (peer.confirmed or not peer.accepting):
            if peer.accepting and not peer.pid_checked:
                return self.check_index(peer, data)
            return data
        buffer = peer.hello
        buffer.extend(data)
        while len(buffer) >= frames.HEADER:
            pc = int.from_bytes(buffer[:8], "little", signed=True)
            size = int.from_bytes(buffer[8:12], "little")
            if pc != CONTROL_PC or not 1 <= size <= _MAX_HELLO_BYTES:
                self.refuse(peer, {"reason": "protocol"})
                return None
            if len(buffer) < frames.HEADER + size:
                return None
            payload = bytes(buffer[frames.HEADER:frames.HEADER + size])
            del buffer[:frames.HEADER + size]
            kind, body = payload[0], payload[1:]
            if kind == _HELLO and not peer.admitted:
                self.on_hello(peer, body)
                if not peer.admitted:
                    return None
                if peer.accepting:
                    continue  # now the peer's word on our hello: an ack, or a refusal
                rest = bytes(buffer)
                buffer.clear()
                return rest
            if kind == _ACK and peer.admitted and peer.accepting:
                # The peer accepted our hello; MPyC's own handshake follows.
                peer.confirmed = True
                rest = bytes(buffer)
                buffer.clear()
                return self.check_index(peer, rest) if rest else rest
            if kind in (_REFUSE, _ABORT):
                self.control(protocol, payload)
                return None
            if kind != _HEARTBEAT:
                self.refuse(peer, {"reason": "protocol"})
                return None
        return None

    def check_index(self, peer: _Peer, data: bytes) -> bytes | None:
        """The index MPyC's handshake announces must be the one the hello introduced."""
        peer.pid_bytes += data[:2 - len(peer.pid_bytes)]
        if len(peer.pid_bytes) == 2:
            announced = int.from_bytes(peer.pid_bytes, "little")
            if announced != peer.pid:
                self.refuse(peer, {"reason": "index", "found": announced})
                return None
            peer.pid_checked = True
        return data

    def on_hello(self, peer: _Peer, body: bytes) -> None:
        try:
            hello = json.loads(body.decode("utf-8"))
            version, sender, receiver = hello["version"], hello["from"], hello["to"]
            parties, tag, nonce = hello["parties"], hello["round"], hello["nonce"]
            if not (isinstance(sender, int) and isinstance(receiver, int)
                    and isinstance(parties, int) and isinstance(tag, str)
                    and isinstance(nonce, str) and len(nonce) <= 64):
                raise ValueError("malformed hello")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.refuse(peer, {"reason": "protocol"})
            return
        if version != VERSION:
            self.refuse(peer, {"reason": "protocol"})
            return
        if peer.accepting:
            peer.pid = sender if 0 <= sender < self.m else None
        if parties != self.m:
            self.refuse(peer, {"reason": "parties", "ours": self.m, "theirs": parties})
            return
        expected = peer.pid if not peer.accepting else None
        if receiver != self.pid or (expected is not None and sender != expected) or (
                peer.accepting and not 0 <= sender < self.pid):
            self.refuse(peer, {"reason": "address", "expected": receiver if peer.accepting
                               else expected, "found": self.pid if peer.accepting else sender})
            return
        if tag != self.settings.round_tag:
            self.refuse(peer, {"reason": "spec", "ours": self.settings.round_tag,
                               "theirs": tag})
            return
        if peer.accepting and self.local_only and not is_loopback(peer.address.rpartition(":")[0]):
            self.refuse(peer, {"reason": "local-only"}, stop=False)
            return
        if any(other.pid == sender and other.admitted and not other.closed and other is not peer
               for other in self.peers.values()):
            self.refuse(peer, {"reason": "duplicate"})
            return
        problem = self.certificate_problem(peer, sender)
        if problem is not None:
            self.refuse(peer, problem)
            return
        peer.pid, peer.nonce = sender, nonce
        peer.admitted = True
        peer.last_heard = self.loop.time()
        self.note(f"admitted {self.who(sender)} at {peer.address}")
        if peer.accepting:
            self.send_hello(peer)
        else:
            frames.send_frame(peer.protocol, CONTROL_PC, bytes([_ACK]))
            self.made(peer.protocol, peer.protocol.transport)  # MPyC's own handshake
        self.admissions += 1
        if self.admissions == 1:
            faults.inject("connecting", self.transports())

    def certificate_problem(self, peer: _Peer, sender: int) -> dict[str, Any] | None:
        """With TLS: the peer's certificate must be MPyC's for its index and name its firm."""
        if not self.mpc.options.ssl:
            return None
        certificate = peer.protocol.transport.get_extra_info("peercert") or {}
        subject: dict[str, str] = {}
        for part in certificate.get("subject", ()):
            for key, value in part:
                subject[key] = value
        common_name = subject.get("commonName", "")
        if common_name != f"MPyC party {sender}":
            return {"reason": "certificate", "found": common_name,
                    "expected": f"MPyC party {sender}"}
        names = self.settings.names
        if sender < len(names) and subject.get("organizationName", "") != names[sender]:
            return {"reason": "certificate", "found": subject.get("organizationName", ""),
                    "expected": names[sender]}
        return None

    def tls_failed(self, error: ssl.SSLError, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> None:
        """A TLS handshake with a party failed: refused (a certificate problem never heals)."""
        hostname = str(kwargs.get("server_hostname") or "")
        pid = int(hostname.rsplit(" ", 1)[-1]) if hostname.startswith("MPyC party ") else None
        address = f"{args[1]}:{args[2]}" if len(args) >= 3 else "?"
        reason = getattr(error, "verify_message", None) or getattr(error, "reason", None) or error
        self.fail(Failure("refused", (pid,) if pid is not None else (), clean(
            f"the TLS connection to {self.who(pid)} at {address} failed ({reason}): every party "
            "must use its own certificate (CN 'MPyC party <index>'), signed by the "
            "consortium's CA", 400)))

    def transports(self) -> list[Any]:
        return [p.protocol.transport for p in self.peers.values() if not p.closed]

    def connection_lost(self, protocol: Any, exc: BaseException | None,
                        original: Callable[[Any, BaseException | None], None]) -> None:
        peer = self.peers.get(protocol)
        if peer is None:
            original(protocol, None)
            return
        peer.closed = True
        cause = "closed" if exc is None else clean(exc, 120) or type(exc).__name__
        self.note(f"connection to {self.who(peer.pid)} at {peer.address} ended ({cause})")
        if self.failure.done() or self.stopping or peer.refused:
            return
        if peer.said_bye or peer.closing:
            original(protocol, None)  # MPyC's normal end of a connection (never raises)
            return
        if isinstance(exc, ssl.SSLError) and not peer.admitted and not peer.accepting:
            self.tls_failed(exc, (None, *peer.address.rsplit(":", 1)),
                            {"server_hostname": f"MPyC party {peer.pid}"})
        elif peer.admitted or not peer.accepting:
            self.fail(Failure("lost", (peer.pid,) if peer.pid is not None else ()))
        # else: a connection that never introduced itself went away: nothing to do

    # -- frames ----------------------------------------------------------------------------

    def heard(self, protocol: Any) -> None:
        peer = self.peers.get(protocol)
        if peer is not None:
            peer.last_heard = self.loop.time()

    def control(self, protocol: Any, payload: bytes) -> None:
        peer = self.peers.get(protocol)
        if peer is None or not payload:
            return
        kind = payload[0]
        if kind == _BYE:
            peer.said_bye = True
        elif kind in (_ABORT, _REFUSE):
            try:
                body = json.loads(payload[1:].decode("utf-8"))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except (ValueError, UnicodeDecodeError):
                body = {}
            if kind == _ABORT:
                self.on_abort(peer, body)
            else:
                self.on_refuse(peer, body)

    def on_abort(self, peer: _Peer, body: dict[str, Any]) -> None:
        kind = body.get("kind") if body.get("kind") in _ERRORS else "error"
        parties = tuple(p for p in body.get("parties", ()) if isinstance(p, int)
                        and 0 <= p < self.m and not isinstance(p, bool))
        if not parties and peer.pid is not None:
            parties = (peer.pid,)
        self.fail(Failure(str(kind), parties, clean(body.get("text", "")), peer.pid,
                          float(body["silence"]) if isinstance(body.get("silence"), int | float)
                          else 0.0))

    def on_refuse(self, peer: _Peer, body: dict[str, Any]) -> None:
        refuser = body.get("from")
        if isinstance(refuser, int) and not isinstance(refuser, bool) and 0 <= refuser < self.m:
            peer.pid = refuser  # who answered (at a mistyped address: not the one expected)
        peer.refused = True
        self.note(f"refused by {self.who(peer.pid)}: {clean(body, 300)}")
        self.fail(Failure("refused", (peer.pid,) if peer.pid is not None else (),
                          self.refused_text(peer, body)))

    def refuse(self, peer: _Peer, reason: dict[str, Any], *, stop: bool = True) -> None:
        """Tell the peer why it is refused, close the connection and (mostly) stop."""
        frames.send_frame(peer.protocol, CONTROL_PC, bytes([_REFUSE]) + json.dumps(
            {**reason, "from": self.pid}).encode())
        peer.refused = True
        peer.protocol.transport.close()
        text = self.refusal_text(peer, reason)
        self.note(f"refused {peer.address}: {text}")
        if stop:
            self.fail(Failure("refused", (peer.pid,) if peer.pid is not None else (), text))
        elif self.settings.warn is not None:
            self.settings.warn(text)

    # -- failing ---------------------------------------------------------------------------

    def fail(self, failure: Failure) -> None:
        """Stop the run (the first failure wins) and tell every peer still connected."""
        if self.failure.done():
            return
        self.failure.set_result(failure)
        self.note(f"run stopped: {self.message(failure, self.phase)}")
        abort = self.abort_frame(failure)
        for peer in self.peers.values():
            if peer.open:
                frames.send_frame(peer.protocol, CONTROL_PC, abort)
        if self.racing == 0 and self.main_task is not None and not self.main_task.done():
            self.main_task.cancel()  # it waits outside any phase: wake it up

    def abort_frame(self, failure: Failure) -> bytes:
        return bytes([_ABORT]) + json.dumps({
            "kind": failure.kind, "parties": list(failure.parties), "text": failure.text,
            "silence": failure.silence, "from": self.pid}).encode()

    def message(self, failure: Failure, phase: str) -> str:
        return failure_message(failure, phase, self.who)

    def refusal_text(self, peer: _Peer, reason: dict[str, Any]) -> str:
        return refusal_text(reason, peer=peer.pid, me=self.pid, address=peer.address,
                            accepting=peer.accepting, who=self.who)

    def refused_text(self, peer: _Peer, reason: dict[str, Any]) -> str:
        return refused_text(reason, peer=peer.pid, me=self.pid, parties=self.m,
                            round_tag=self.settings.round_tag, who=self.who)

    def error(self, phase: str) -> PartyLostError:
        failure = self.failure.result()
        return _ERRORS[failure.kind](self.message(failure, phase), failure.parties, phase)

    # -- heartbeats and the watchdog -------------------------------------------------------

    def on_tick(self) -> None:
        now = self.loop.time()
        late = now - self.due > self.tick  # this party's own loop was blocked: not theirs
        self.alive_at = time.monotonic()
        for peer in self.peers.values():
            if peer.open:
                frames.send_frame(peer.protocol, CONTROL_PC, bytes([_HEARTBEAT]))
        if not late and not self.failure.done() and not self.stopping:
            timeout = self.settings.progress_timeout
            silent = [p for p in self.peers.values()
                      if (p.open or (not p.accepting and not p.admitted and not p.closed
                                     and not p.refused)) and now - p.last_heard > timeout]
            if silent:
                self.fail(Failure("stalled", tuple(sorted({p.pid for p in silent
                                                           if p.pid is not None})),
                                  silence=max(now - p.last_heard for p in silent)))
        self.due = now + self.tick
        self.timer = self.loop.call_later(self.tick, self.on_tick)

    def reschedule(self) -> None:
        if self.timer is not None and not self.stop_event.is_set():
            self.timer.cancel()
            self.due = self.loop.time() + self.tick
            self.timer = self.loop.call_later(self.tick, self.on_tick)

    def watch_own_loop(self) -> None:
        """Thread: notice (and say once) when this party's own event loop is blocked."""
        warned = False
        while not self.stop_event.wait(self.tick):
            pause = time.monotonic() - self.alive_at - self.tick
            self.pause = max(self.pause, pause)
            timeout = self.settings.progress_timeout
            if pause > timeout / 2 and not warned and self.settings.warn is not None:
                warned = True
                self.settings.warn(
                    f"this party has computed for {pause:.0f} s without a pause for its "
                    f"connections; the other parties stop the round after {timeout:g} s of "
                    "silence: a slow machine may need a larger progress_timeout under "
                    "[network] in the consortium file")

    async def drain(self) -> None:
        """Close every connection (their last frames still go out) and wait a moment."""
        for peer in self.peers.values():
            if not peer.closed:
                peer.protocol.transport.close()
        deadline = self.loop.time() + _DRAIN_SECONDS
        while self.loop.time() < deadline and not all(p.closed for p in self.peers.values()):
            await asyncio.sleep(0.02)
        for peer in self.peers.values():
            if not peer.closed:
                peer.protocol.transport.abort()


_watch: _Watch | None = None
_settings = Settings()
_details: list[str] = []
_last_pause = [0.0]


class _AsyncioLog(logging.Handler):
    """While a run is watched, asyncio's own log lines go to the failure log, not the screen.

    (After a lost peer asyncio warns at every write MPyC still makes to the dead connection.)
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.saved: tuple[bool, int] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        _details.append(f"{time.strftime('%H:%M:%S')} asyncio: {record.getMessage()}")
        del _details[:-200]

    def capture(self) -> None:
        logger = logging.getLogger("asyncio")
        if self.saved is None:
            self.saved = (logger.propagate, logger.level)
            logger.addHandler(self)
            logger.propagate = False

    def release(self) -> None:
        logger = logging.getLogger("asyncio")
        if self.saved is not None:
            logger.propagate, _ = self.saved
            logger.removeHandler(self)
            self.saved = None


_ASYNCIO_LOG = _AsyncioLog()


def _log_exception(loop: Any, context: dict[str, Any]) -> None:
    """The event loop's exception handler while watched: details go to the failure log."""
    exception = context.get("exception")
    text = f"{context.get('message', '')}: {exception!r}" if exception else str(
        context.get("message", ""))
    _details.append(f"{time.strftime('%H:%M:%S')} event loop: {text}")
    del _details[:-200]


def configure(**changes: Any) -> Settings:
    """Change the settings of the watched run (and of runs armed later); returns them.

    Keyword arguments are fields of :class:`Settings`.  Call before ``mpc.start()``: the hello
    carries the round tag.
    """
    global _settings
    _settings = replace(_settings, **changes)
    if _watch is not None:
        _watch.settings = replace(_watch.settings, **changes)
        _watch.reschedule()  # the tick follows the progress timeout
    return _settings


def arm(mpc: Any) -> None:
    """Watch this runtime's connections from now on (idempotent); call before ``mpc.start()``."""
    global _watch
    if _watch is not None and _watch.mpc is mpc:
        return
    if _watch is not None:
        _watch.uninstall()
    _details.clear()
    _watch = _Watch(mpc, _settings)
    _watch.install()
    _ASYNCIO_LOG.capture()


def disarm() -> None:
    """Stop watching (after the run): timers, the thread and the connection hooks go."""
    global _watch, _settings
    if _watch is not None:
        _watch.uninstall()
        _details[:0] = _watch.events
        if not _watch.failure.done():  # after a failure, what MPyC's leftovers log stays quiet
            _ASYNCIO_LOG.release()
        _last_pause[0] = max(0.0, _watch.pause)
        _watch = None
    _settings = Settings()


def enter_phase(name: str) -> asyncio.Future[Failure] | None:
    """Note that a phase starts; the future a phase must race against (None: not watched).

    Also where an armed test fault fires (:mod:`smpc_bench.engine.faults`).
    """
    watch = _watch
    if watch is None:
        faults.inject(name)
        return None
    watch.phase = name
    with contextlib.suppress(RuntimeError):
        watch.main_task = watch.main_task or asyncio.current_task()
    if name != "connecting":
        faults.inject(name, watch.transports())
    return watch.failure


@contextlib.contextmanager
def racing() -> Iterator[None]:
    """While a phase waits on the failure future, a failure needs not cancel the main task."""
    watch = _watch
    if watch is not None:
        watch.racing += 1
    try:
        yield
    finally:
        if watch is not None:
            watch.racing -= 1


def failed() -> bool:
    """Whether the watched run has failed."""
    return _watch is not None and _watch.failure.done()


def error(phase: str | None = None) -> PartyLostError:
    """The error of the failed run, its message naming ``phase`` (default: the current one)."""
    if _watch is None or not _watch.failure.done():
        raise RuntimeError("the run has not failed")
    return _watch.error(phase or _watch.phase)


def stop_after(error: BaseException) -> None:
    """The run ends early with ``error``: tell the peers (unless they told us), close cleanly."""
    watch = _watch
    if watch is None:
        return
    if not watch.failure.done():
        if isinstance(error, PeerRefusedError):  # e.g. the agreement on the spec failed
            watch.fail(Failure("refused", error.parties, clean(error)))
        elif isinstance(error, PartyLostError):
            kind = "stalled" if isinstance(error, PartyStalledError) else "lost"
            watch.fail(Failure(kind, error.parties, clean(error)))
        else:
            text = ("stopped by its operator" if isinstance(error, KeyboardInterrupt)
                    else clean(error) or type(error).__name__)
            watch.fail(Failure("error", (watch.pid,), text))
    watch.stopping = True
    loop = watch.loop
    if not loop.is_closed() and not loop.is_running():
        # MPyC's pending work must not go on sending to the peers meanwhile.
        for task in asyncio.all_tasks(loop):
            task.cancel()
        with contextlib.suppress(Exception):
            loop.run_until_complete(watch.drain())


def round_id() -> str | None:
    """The id of this round: its tag and every party's nonce (None until all are connected)."""
    watch = _watch
    if watch is None:
        return None
    nonces = {watch.pid: watch.nonce}
    for peer in watch.peers.values():
        if peer.open and peer.pid is not None:
            nonces[peer.pid] = peer.nonce
    if len(nonces) != watch.m:
        return None
    text = "|".join([watch.settings.round_tag, *(nonces[i] for i in range(watch.m))])
    return hashlib.sha256(text.encode()).hexdigest()


def details() -> list[str]:
    """What happened to the connections (for the failure log), oldest first."""
    return [*_details, *(_watch.events if _watch is not None else [])]


def longest_pause() -> float:
    """The longest this party's event loop was blocked in the watched (or last) run, in seconds.

    Measured to within a heartbeat tick; what the progress timeout must stay well above.
    """
    return max(0.0, _watch.pause) if _watch is not None else _last_pause[0]
