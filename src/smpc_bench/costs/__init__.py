"""Deterministic cost accounting of MPyC protocol calls: rounds, traffic, comparisons, openings.

Wall-clock time depends on the machine, the load and the network; the costs recorded here
depend only on the program and, for an oblivious protocol, on the *shape* of the data.  They
are what a regression gate can enforce and what predicts the run time on a real network::

    from smpc_bench import costs

    with costs.track() as cost:
        released = mpc.run(compute(table))
    print(cost.rounds, cost.comparisons, cost.bytes_sent)
    cost.as_dict()                                   # flat counters, e.g. for JSON

    released, cost = costs.run(compute(table))       # the same, as a run option

What is counted (by wrapping MPyC 0.11's ``Runtime`` methods for the duration of the block):

* **openings**: calls of ``Runtime.output`` and the elements opened; ``library_openings`` are
  the declared outputs, plus the openings a library protocol makes itself (e.g. the uniformly
  random shuffled destinations of :mod:`smpc_bench.positions.shuffle`); the others are the masked
  openings inside sub-protocols: MPyC's (comparisons, bit decompositions, zero tests) and the
  comparisons of :mod:`smpc_bench.core.less_than`.
* **reshares**: calls of ``Runtime._reshare`` (one per secure multiplication, inner product or
  matrix product, scalar or vectorised) and the field elements reshared.
* **comparisons**: calls of ``Runtime.np_sgn``/``sgn`` (every secure ``<``, ``==``, sign or zero
  test of MPyC goes through them) and of :func:`smpc_bench.core.less_than.less_than_zero`, and the
  elements compared; ``comparison_bits`` weighs every element
  by its bit length ``l``, which is what the comparison's traffic and work grow with.
* **bit decompositions**: calls of ``Runtime.np_to_bits``/``to_bits``, elements and bits.
* **inputs**: calls of ``Runtime._distribute`` (``mpc.input``) and elements; **transfers**.
* **messages and bytes** sent by this party, per peer (``MessageExchanger.send``: 12 bytes of
  header plus the payload per message).  Zero with one party.  Message counts are exact; byte
  counts vary by about 0.01 % from run to run because MPyC pickles field elements (random
  shares) as Python integers of variable length.
* **rounds**: communication rounds, see below.

Rounds, and why they are deterministic
--------------------------------------
Every communication in MPyC goes through one of four coroutines: ``_distribute`` (input),
``_reshare`` (after each secure product), ``output`` (openings, also the masked ones inside
sub-protocols) and ``transfer``; each costs one message latency on the critical path (PRSS
randomness is local).  The rounds of a computation are the length of its longest chain of
messages in which each message needs the one before: what a network latency multiplies.

A Lamport clock over the real messages is not that number: on a real or loaded machine a
party also stamps unrelated messages it happens to send after a late receipt, so the count
varies from run to run.  Instead the block runs as a **synchronous network**: in round ``r``
every party does all the work its data allows, and a message sent in round ``r`` is delivered
at the start of round ``r + 1``, never earlier.  The number of rounds is then a function of
the program (and the data's shape) alone, whatever the timing:

* **One party** (tests, benchmarks in process): MPyC's asynchronous mode is switched on for the
  block, each of the four coroutines holds its result until the next round boundary, and a
  boundary is declared whenever the event loop has nothing left to do (its ready queue is
  empty).  With no I/O and asyncio's FIFO scheduling this is deterministic.
* **Several parties**: the parties run in lock-step (:class:`_LockStep`).  A party that runs
  out of work in round ``r`` sends a small control frame ``END r`` to every peer; TCP keeps
  each connection in order, so everything a peer sent before its ``END r`` belongs to round
  ``r``.  A party enters round ``r + 1`` when it is idle and holds ``END r`` from every peer,
  and only then hands the round's frames to MPyC.  ``START``/``STOP`` frames bracket the
  block, and frames for a peer that has not entered the block yet are held back, so all
  parties must track the same blocks (same program, like every MPyC call).  Each party counts
  its own rounds; the run's count is the largest.  The lock-step costs a few milliseconds per
  round, so time runs separately (``track(rounds=False)`` counts traffic only).

For programs whose structure does not depend on the number of parties both give the same
count (tested); where it does, only the multi-party count is right for that number of parties
(the secret shuffle behind the sorting ranks makes one sub-shuffle per set of ``m - t``
parties: 31 rounds with one party, 43 with three, for n = 1,000).  Both were validated against
3-party runs with a delay ``D`` injected into every message (``benchmarks/validate_rounds.py``):
``(T_D - T_0) / D`` came within half a round of the count at ``D = 0.3 s`` (quartiles of 1,000
values: 36 rounds counted, 36.1 measured; ranks, in an earlier version: 44 counted, 45.3
measured at ``D = 1 s``).

A block may span a whole run, ``mpc.start()`` to ``mpc.shutdown()`` (the lock-step then begins
once the parties are connected and ends when the party's pending work is done, before the
shutdown).  Caveats: MPyC's barrier and shutdown wait by polling the event loop, which would
keep a round from ever ending; inside a block they poll with a 1 ms timer instead.  MPyC's
secure ``%`` by a public modulus that is not a power of two draws its mask by rejection
sampling, so its number of tries (and rounds) is random (never data-dependent).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import struct
import sys
import types
from collections.abc import Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from smpc_bench.core import less_than as comparison
from smpc_bench.engine.driver import runtime

__all__ = ["Costs", "format_costs", "report_costs", "run", "track"]

T = TypeVar("T")

#: The coroutines of MPyC 0.11 that send messages; each is one round on the critical path.
COMMUNICATING = ("_distribute", "output", "_reshare", "transfer")

#: Frames of these files are wrappers, skipped when deciding who called ``output``.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_WRAPPER_FILES = {os.path.abspath(__file__),
                  os.path.join(_PACKAGE, "engine", "local_shares.py")}

#: Our own sub-protocols whose openings are masked like MPyC's (not declared outputs).
_SUBPROTOCOL_FILES = {os.path.join(_PACKAGE, "core", "less_than.py")}


@dataclass
class Costs:
    """Deterministic costs of the protocol calls made inside one :func:`track` block.

    Attributes:
        parties: Number of MPyC parties of the run; ``party`` is this party's index.
        rounds: Communication rounds of the block (see the module docstring); None when not
            counted (``rounds=False``, or one party inside a running event loop).
        messages: Messages this party sent, per peer index.
        bytes: Bytes this party sent (headers included), per peer index.
        reshares: ``_reshare`` calls; ``reshared_elements``: field elements reshared.
        openings: ``output`` calls; ``opened_elements``: elements opened;
            ``library_openings``: calls made outside the masked sub-protocols.
        comparisons: ``np_sgn``/``sgn``/``less_than_zero`` calls; ``compared_elements``:
            elements compared; ``comparison_bits``: elements times their bit length.
        bit_decompositions: ``np_to_bits``/``to_bits`` calls; ``decomposed_elements`` and
            ``decomposed_bits``.
        inputs: ``_distribute`` calls; ``input_elements``: elements input; ``transfers``:
            ``transfer`` calls.
    """

    parties: int = 1
    party: int = 0
    rounds: int | None = None
    messages: dict[int, int] = field(default_factory=dict)
    bytes: dict[int, int] = field(default_factory=dict)
    reshares: int = 0
    reshared_elements: int = 0
    openings: int = 0
    opened_elements: int = 0
    library_openings: int = 0
    comparisons: int = 0
    compared_elements: int = 0
    comparison_bits: int = 0
    bit_decompositions: int = 0
    decomposed_elements: int = 0
    decomposed_bits: int = 0
    inputs: int = 0
    input_elements: int = 0
    transfers: int = 0

    @property
    def messages_sent(self) -> int:
        """Messages this party sent to all peers together."""
        return sum(self.messages.values())

    @property
    def bytes_sent(self) -> int:
        """Bytes this party sent to all peers together."""
        return sum(self.bytes.values())

    def as_dict(self) -> dict[str, int | None]:
        """Flat counters (per-peer traffic summed), ready for JSON or ``extra_info``."""
        return {
            "parties": self.parties,
            "rounds": self.rounds,
            "messages_sent": self.messages_sent,
            "bytes_sent": self.bytes_sent,
            "reshares": self.reshares,
            "reshared_elements": self.reshared_elements,
            "openings": self.openings,
            "opened_elements": self.opened_elements,
            "library_openings": self.library_openings,
            "comparisons": self.comparisons,
            "compared_elements": self.compared_elements,
            "comparison_bits": self.comparison_bits,
            "bit_decompositions": self.bit_decompositions,
            "decomposed_elements": self.decomposed_elements,
            "decomposed_bits": self.decomposed_bits,
            "inputs": self.inputs,
            "input_elements": self.input_elements,
            "transfers": self.transfers,
        }

    def deterministic(self) -> dict[str, int | None]:
        """The counters that are exact functions of the program and the data's shape.

        Everything except the byte count (pickled random shares vary in length, ~0.01 %).
        """
        counters = self.as_dict()
        del counters["bytes_sent"]
        return counters


# --------------------------------------------------------------------------------------------
# Sizes of MPyC arguments
# --------------------------------------------------------------------------------------------


def _elements(x: Any) -> int:
    """Number of field elements in a secure object, field array/element or list of them."""
    if isinstance(x, (list, tuple)):
        return sum(_elements(item) for item in x)
    shape = getattr(x, "shape", None)
    if shape is not None:
        return math.prod(int(s) for s in shape)
    return 1


def _bit_length(x: Any, bits: int | None) -> int:
    if bits:
        return int(bits)
    sectype = getattr(type(x), "sectype", type(x))
    return int(getattr(sectype, "bit_length", 0) or 0)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str,
              default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _called_from_subprotocol() -> bool:
    """Whether the caller of the wrapped method (wrappers skipped) is a sub-protocol.

    That is MPyC's own code or :mod:`smpc_bench.core.less_than`, whose openings are masked.
    """
    import mpyc

    mpyc_dir = os.path.dirname(os.path.abspath(mpyc.__file__)) + os.sep
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename not in _WRAPPER_FILES and not filename.endswith("openings.py"):
            return filename.startswith(mpyc_dir) or filename in _SUBPROTOCOL_FILES
        frame = frame.f_back  # type: ignore[assignment]
    return False


# --------------------------------------------------------------------------------------------
# The synchronous network simulation (rounds)
# --------------------------------------------------------------------------------------------


class _RoundClock:
    """Declares a round boundary whenever the event loop has run out of ready work."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rounds = 0
        self.held: list[asyncio.Future[None]] = []
        self.armed = False

    def hold(self) -> asyncio.Future[None]:
        """A future resolved at the next round boundary."""
        future: asyncio.Future[None] = self.loop.create_future()
        self.held.append(future)
        if not self.armed:
            self.armed = True
            self.loop.call_soon(self._tick)
        return future

    def _tick(self) -> None:
        if self.loop._ready:  # type: ignore[attr-defined]  # work left in this round
            self.loop.call_soon(self._tick)
            return
        self.armed = False
        held, self.held = self.held, []
        self.rounds += 1
        for future in held:
            if not future.done():
                future.set_result(None)


@types.coroutine
def _then_hold(coro: Coroutine[Any, Any, Any], clock: _RoundClock,
               annotated: bool) -> Generator[Any, Any, Any]:
    """Run an MPyC coroutine body, then wait for the next round boundary before returning.

    Without a return annotation MPyC runs the body synchronously up to its ``returnType``
    (the first yield) and only then makes a task; a body that returns before that (e.g. for an
    empty list) sends nothing and is not held.
    """
    try:
        value = coro.send(None)
    except StopIteration as stop:
        if annotated:
            yield from clock.hold()
        return stop.value
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as error:  # noqa: BLE001 - forwarded into the coroutine
            try:
                value = coro.throw(error)
            except StopIteration as stop:
                result = stop.value
                break
        else:
            try:
                value = coro.send(sent)
            except StopIteration as stop:
                result = stop.value
                break
    yield from clock.hold()
    return result


def _held_method(method: Callable[..., Any], clock: _RoundClock) -> Callable[..., Any]:
    """An MPyC coroutine method like ``method`` whose result arrives one round later."""
    from mpyc import asyncoro

    body: Callable[..., Any] = method.__wrapped__  # type: ignore[attr-defined]  # under mpc_coro
    annotated = "return" in getattr(body, "__annotations__", {})

    @functools.wraps(body)
    async def held(*args: Any, **kwargs: Any) -> Any:
        return await _then_hold(body(*args, **kwargs), clock, annotated)

    return asyncoro.mpc_coro(held)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# The synchronous network with several parties (rounds in lock-step)
# --------------------------------------------------------------------------------------------

#: Program counter of the control frames of the lock-step (MPyC's are 64-bit hashes).
MARKER_PC = -0x5A17C0575EC0FFEE
_START, _END, _STOP = 1, 2, 3


def _frame(pc: int, payload: bytes) -> bytes:
    return struct.pack(f"<qI{len(payload)}s", pc, len(payload), payload)


def _deliver(protocol: Any, pc: int, payload: bytes) -> None:
    """What MPyC 0.11's ``MessageExchanger.data_received`` does with one frame."""
    if pc in protocol.buffers:
        protocol.buffers.pop(pc).set_result(payload)
    else:
        protocol.buffers[pc] = payload


class _LockStep:
    """Runs the parties in synchronous rounds: a frame sent in round r is delivered in r + 1.

    Every party tags nothing; instead it sends a control frame ``END r`` to every peer when it
    has run out of work in round ``r`` (TCP keeps each connection in order, so a peer knows
    which round every frame before it belongs to).  A party enters round ``r + 1`` when it is
    idle and holds ``END r`` of every peer still in the block; only then does it hand the
    frames of round ``r`` to MPyC.  ``START`` and ``STOP`` frames mark a party's entry into
    and exit from a tracked block; frames to a peer that has not started the block yet are
    kept back until it has, so no frame of the block is ever delivered outside it.
    """

    def __init__(self) -> None:
        self.installed = False
        self.tracking = False
        self.block = 0  # blocks entered by this party
        self.round = 0
        self.end_sent = False
        self.armed = False
        self.loop: Any = None
        self.mpc: Any = None
        self.started: dict[int, int] = {}  # peer -> blocks it has started
        self.stopped: dict[int, int] = {}  # peer -> blocks it has stopped
        self.ended: dict[int, int] = {}  # peer -> END frames seen in its current block
        self.inbox: list[tuple[int, Any, int, bytes]] = []  # (round, protocol, pc, payload)
        self.outbox: dict[int, list[bytes]] = {}
        self.protocols: dict[int, Any] = {}

    # -- wiring ----------------------------------------------------------------------------

    def install(self, mpc: Any) -> None:
        """Patch ``MessageExchanger.data_received`` for good (a pass-through outside blocks)."""
        from mpyc import asyncoro

        self.mpc, self.loop = mpc, mpc._loop
        if self.installed:
            return
        original = asyncoro.MessageExchanger.data_received
        lockstep = self

        def data_received(protocol: Any, data: bytes) -> None:
            if protocol.peer_pid is None:  # connection handshake: MPyC's own code
                original(protocol, data)
                return
            buffer = protocol.bytes
            buffer.extend(data)
            while len(buffer) >= 12:
                pc, size = struct.unpack_from("<qI", buffer)
                if len(buffer) < size + 12:
                    break
                payload = bytes(buffer[12:12 + size])
                del buffer[:size + 12]
                lockstep.incoming(protocol, pc, payload)

        asyncoro.MessageExchanger.data_received = data_received
        self.installed = True

    def peer_in_block(self, peer: int) -> bool:
        """Whether the peer is inside this party's current block (started it, not stopped)."""
        return self.started.get(peer, 0) == self.block and self.stopped.get(peer, 0) < self.block

    def write(self, peer: int, frame: bytes) -> None:
        """Send a frame now, or keep it until the peer has started this party's block."""
        if self.tracking and self.started.get(peer, 0) < self.block:
            self.outbox.setdefault(peer, []).append(frame)
        else:
            self.protocols[peer].transport.write(frame)

    def control(self, kind: int, value: int) -> None:
        frame = _frame(MARKER_PC, struct.pack("<Bq", kind, value))
        for peer, protocol in self.protocols.items():
            if kind == _START:  # never kept back: it is what releases the peer's frames
                protocol.transport.write(frame)
            else:
                self.write(peer, frame)

    # -- frames in -------------------------------------------------------------------------

    def incoming(self, protocol: Any, pc: int, payload: bytes) -> None:
        peer = protocol.peer_pid
        self.protocols.setdefault(peer, protocol)
        if pc == MARKER_PC:
            kind, value = struct.unpack("<Bq", payload)
            if kind == _START:
                self.started[peer] = self.started.get(peer, 0) + 1
                self.ended[peer] = 0
                for frame in self.outbox.pop(peer, []):
                    protocol.transport.write(frame)
            elif kind == _END:
                self.ended[peer] = value + 1
            elif kind == _STOP:
                self.stopped[peer] = self.stopped.get(peer, 0) + 1
            self.arm()
            return
        if self.tracking and self.peer_in_block(peer):
            self.inbox.append((self.ended.get(peer, 0), protocol, pc, payload))
        else:
            _deliver(protocol, pc, payload)

    # -- rounds ----------------------------------------------------------------------------

    def arm(self) -> None:
        if self.tracking and not self.armed:
            self.armed = True
            self.loop.call_soon(self.tick)

    def tick(self) -> None:
        self.armed = False
        if not self.tracking:
            return
        if self.loop._ready:  # work left in this round
            self.arm()
            return
        if not self.end_sent:
            self.control(_END, self.round)
            self.end_sent = True
        for peer in self.protocols:
            if self.started.get(peer, 0) < self.block:
                return  # the peer has not entered the block yet
            if self.peer_in_block(peer) and self.ended.get(peer, 0) <= self.round:
                return  # the peer is still busy in this round
        due = [item for item in self.inbox if item[0] <= self.round]
        self.inbox = [item for item in self.inbox if item[0] > self.round]
        self.round += 1
        self.end_sent = False
        for _, protocol, pc, payload in due:
            _deliver(protocol, pc, payload)
        self.arm()

    def enter(self, mpc: Any) -> None:
        self.install(mpc)
        for peer in mpc.parties:
            if peer.pid != mpc.pid and peer.protocol is not None:
                self.protocols[peer.pid] = peer.protocol
                # A START that came before this party patched MPyC sits in MPyC's buffers.
                if peer.protocol.buffers.get(MARKER_PC) is not None and not isinstance(
                        peer.protocol.buffers[MARKER_PC], asyncio.Future):
                    peer.protocol.buffers.pop(MARKER_PC)
                    self.started[peer.pid] = self.started.get(peer.pid, 0) + 1
                    self.ended[peer.pid] = 0
        self.block += 1
        self.round = 0
        self.end_sent = False
        self.tracking = True
        self.control(_START, self.block)
        self.arm()

    def exit(self) -> int:
        rounds = self.round
        self.control(_STOP, self.round)
        self.tracking = False
        pending, self.inbox = self.inbox, []
        for _, protocol, pc, payload in pending:
            _deliver(protocol, pc, payload)
        return rounds


_LOCKSTEP = _LockStep()


# --------------------------------------------------------------------------------------------
# Tracking
# --------------------------------------------------------------------------------------------


def _counting_methods(cost: Costs) -> dict[str, Callable[[tuple[Any, ...], dict[str, Any]],
                                                           None]]:
    """Per Runtime method name: what to count for a call with these arguments."""

    def on_output(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        cost.openings += 1
        cost.opened_elements += _elements(_argument(args, kwargs, 0, "x"))
        if not _called_from_subprotocol():
            cost.library_openings += 1

    def on_reshare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        cost.reshares += 1
        cost.reshared_elements += _elements(_argument(args, kwargs, 0, "x"))

    def on_distribute(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        x, senders = _argument(args, kwargs, 0, "x"), _argument(args, kwargs, 1, "senders")
        cost.inputs += 1
        cost.input_elements += _elements(x) * len(senders)

    def on_transfer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        cost.transfers += 1

    def on_compare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        a, bits = _argument(args, kwargs, 0, "a"), _argument(args, kwargs, 1, "l")
        elements = _elements(a)
        cost.comparisons += 1
        cost.compared_elements += elements
        cost.comparison_bits += elements * _bit_length(a, bits)

    def on_to_bits(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        a, bits = _argument(args, kwargs, 0, "a"), _argument(args, kwargs, 1, "l")
        elements = _elements(a)
        cost.bit_decompositions += 1
        cost.decomposed_elements += elements
        cost.decomposed_bits += elements * _bit_length(a, bits)

    return {
        "output": on_output,
        "_reshare": on_reshare,
        "_distribute": on_distribute,
        "transfer": on_transfer,
        "np_sgn": on_compare,
        "sgn": on_compare,
        "np_to_bits": on_to_bits,
        "to_bits": on_to_bits,
    }


def _counted(method: Callable[..., Any], count: Callable[[tuple[Any, ...], dict[str, Any]],
                                                           None]) -> Callable[..., Any]:
    @functools.wraps(method)
    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        count(args, kwargs)
        return method(self, *args, **kwargs)

    return counted


def _counted_bound(method: Callable[..., Any], count: Callable[[tuple[Any, ...],
                                                                 dict[str, Any]], None]
                   ) -> Callable[..., Any]:
    @functools.wraps(method)
    def counted(*args: Any, **kwargs: Any) -> Any:
        count(args, kwargs)
        return method(*args, **kwargs)

    return counted


_active = False


@contextlib.contextmanager
def track(*, rounds: bool = True) -> Iterator[Costs]:
    """Record the deterministic costs of the MPyC calls made while the block runs.

    Args:
        rounds: Count the communication rounds (see the module docstring).  With one party
            the block must not be entered inside a running event loop (``rounds`` is None
            then); MPyC is switched to asynchronous evaluation for the block, so secure
            results made inside it are placeholders until awaited or passed to ``mpc.run``.
            With several parties every party must track the same blocks: the parties run
            in lock-step, which costs a few milliseconds per round.

    Yields:
        The :class:`Costs`, filled in as the block runs (``rounds`` when it ends).

    Raises:
        RuntimeError: If another :func:`track` block is active (blocks do not nest).
    """
    global _active
    if _active:
        raise RuntimeError("costs.track() blocks do not nest")
    from mpyc import asyncoro

    mpc = runtime()
    runtime_class = type(mpc)
    cost = Costs(parties=len(mpc.parties), party=int(mpc.pid))
    loop = mpc._loop
    simulate = rounds and len(mpc.parties) == 1 and not loop.is_running() and hasattr(
        loop, "_ready")
    clock = _RoundClock(loop) if simulate else None

    restore: list[tuple[Any, str, Any, bool]] = []  # (owner, name, old value, was own attr)

    def patch(owner: Any, name: str, value: Any) -> None:
        had_own = name in vars(owner)
        restore.append((owner, name, vars(owner).get(name), had_own))
        setattr(owner, name, value)

    for name, count in _counting_methods(cost).items():
        method = getattr(runtime_class, name)
        if clock is not None and name in COMMUNICATING:
            method = _held_method(method, clock)
        patch(runtime_class, name, _counted(method, count))
        if name in vars(mpc):  # an instance-level wrapper (e.g. record_openings) is active
            patch(mpc, name, _counted_bound(vars(mpc)[name], count))

    original_send = asyncoro.MessageExchanger.send
    lockstep = rounds and len(mpc.parties) > 1
    state: dict[str, Any] = {"in_lockstep": False, "rounds": None}

    def counting_send(self: Any, pc: int, payload: bytes) -> None:
        peer = self.peer_pid
        cost.messages[peer] = cost.messages.get(peer, 0) + 1
        cost.bytes[peer] = cost.bytes.get(peer, 0) + 12 + len(payload)
        if state["in_lockstep"]:
            self.nbytes_sent += 12 + len(payload)
            _LOCKSTEP.write(peer, _frame(pc, payload))
        else:
            original_send(self, pc, payload)

    patch(asyncoro.MessageExchanger, "send", counting_send)

    def on_less_than_zero(elements: int, bit_length: int) -> None:
        cost.comparisons += 1
        cost.compared_elements += elements
        cost.comparison_bits += elements * bit_length

    def enter_lockstep() -> None:
        _LOCKSTEP.enter(mpc)
        state["in_lockstep"] = True

    def exit_lockstep() -> None:
        if state["in_lockstep"]:
            state["in_lockstep"] = False
            state["rounds"] = _LOCKSTEP.exit()

    async def settle(self: Any) -> None:
        # MPyC waits for its pending tasks by polling with asyncio.sleep(0), which keeps the
        # event loop busy, so no round could ever end; poll with a timer instead.
        while self._pc_level > self._program_counter[1]:
            await asyncio.sleep(0.001)

    if clock is not None or lockstep:
        async def barrier(self: Any, name: str | None = None) -> None:
            await settle(self)

        original_start = runtime_class.start
        original_shutdown = runtime_class.shutdown

        async def start(self: Any) -> None:
            await original_start(self)
            if lockstep and not state["in_lockstep"]:
                enter_lockstep()  # the block began before the parties were connected

        async def shutdown(self: Any) -> None:
            await settle(self)
            exit_lockstep()
            await original_shutdown(self)

        patch(runtime_class, "barrier", barrier)
        patch(runtime_class, "start", start)
        patch(runtime_class, "shutdown", shutdown)
    old_no_async = mpc.options.no_async
    if clock is not None:
        mpc.options.no_async = False
    _active = True
    connected = all(peer.protocol is not None for peer in mpc.parties if peer.pid != mpc.pid)
    comparison.OBSERVERS.append(on_less_than_zero)
    try:
        if lockstep and connected:
            enter_lockstep()
        yield cost
    finally:
        comparison.OBSERVERS.remove(on_less_than_zero)
        exit_lockstep()
        if lockstep:
            cost.rounds = state["rounds"]
        _active = False
        mpc.options.no_async = old_no_async
        for owner, name, old, had_own in reversed(restore):
            if had_own:
                setattr(owner, name, old)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
        if clock is not None:
            cost.rounds = clock.rounds


def run(coro: Coroutine[Any, Any, T], *, rounds: bool = True) -> tuple[T, Costs]:
    """Run a coroutine with ``mpc.run`` while tracking its costs (the run option).

    Returns:
        ``(result, costs)``.
    """
    with track(rounds=rounds) as cost:
        result: T = runtime().run(coro)
    return result, cost


def format_costs(cost: Costs) -> str:
    """A few readable lines: rounds, traffic per peer, comparisons, openings."""
    rounds = "not counted" if cost.rounds is None else str(cost.rounds)
    lines = [f"costs of party {cost.party} of {cost.parties}: rounds {rounds}"]
    if cost.messages:
        per_peer = ", ".join(f"to party {peer}: {cost.messages[peer]} messages, "
                             f"{cost.bytes[peer]:,} bytes" for peer in sorted(cost.messages))
        lines.append(f"  sent {cost.messages_sent} messages, {cost.bytes_sent:,} bytes "
                     f"({per_peer})")
    lines.append(f"  reshares {cost.reshares} ({cost.reshared_elements:,} field elements), "
                 f"inputs {cost.inputs} ({cost.input_elements:,} elements), "
                 f"transfers {cost.transfers}")
    lines.append(f"  comparisons {cost.comparisons} ({cost.compared_elements:,} elements, "
                 f"{cost.comparison_bits:,} element-bits), bit decompositions "
                 f"{cost.bit_decompositions} ({cost.decomposed_bits:,} bits)")
    lines.append(f"  openings {cost.openings} ({cost.opened_elements:,} elements; "
                 f"{cost.library_openings} by smpc-bench (declared outputs, shuffles), "
                 f"{cost.openings - cost.library_openings} masked inside sub-protocols)")
    return "\n".join(lines)


@contextlib.contextmanager
def report_costs(enabled: bool = True, *, stream: IO[str] | None = None,
                 rounds: bool = True) -> Iterator[Costs | None]:
    """Track the block if ``enabled`` and print :func:`format_costs` to ``stream`` after it.

    The one-line hook for a command line's ``--costs`` flag::

        with costs.report_costs(args.costs):
            outcome = driver.run(statistics_round(...), timeout=...)
    """
    if not enabled:
        yield None
        return
    with track(rounds=rounds) as cost:
        yield cost
    print(format_costs(cost), file=sys.stderr if stream is None else stream, flush=True)
