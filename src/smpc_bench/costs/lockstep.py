"""The parties of a tracked block run in lock-step, so that their rounds can be counted exactly.

A party that runs out of work in round ``r`` sends a small control frame ``END r`` to every
peer; TCP keeps each connection in order, so everything a peer sent before its ``END r``
belongs to round ``r``.  A party enters round ``r + 1`` when it is idle and holds ``END r``
from every peer, and only then hands the round's frames to MPyC.  ``START``/``STOP`` frames
bracket the block.  See :mod:`smpc_bench.costs` for why rounds are counted this way.

Frames in come from the one replacement of ``MessageExchanger.data_received``,
:mod:`smpc_bench.engine.frames` (the markers under :data:`MARKER_PC`, MPyC's own frames through
its sink; a pass-through outside blocks).  MPyC internals used: ``MessageExchanger.buffers``/
``transport``/``peer_pid``, ``Runtime._loop``.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from smpc_bench.engine import frames

__all__ = ["MARKER_PC"]

_START, _END, _STOP = 1, 2, 3


#: Program counter of the control frames of the lock-step (MPyC's are 64-bit hashes).
MARKER_PC = -0x5A17C0575EC0FFEE


_frame = frames.frame
_deliver = frames.deliver


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
        """Take the marker frames and MPyC's frames from the frame dispatcher.

        Stays registered between blocks (a pass-through there): a block may begin while frames
        are in flight.  :func:`smpc_bench.engine.patches.uninstall_all` removes the dispatcher
        with every other patch; the next block installs it again.
        """
        self.mpc, self.loop = mpc, mpc._loop
        frames.install()
        frames.register(MARKER_PC, self.marker)
        frames.set_sink(self.incoming)

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

    def marker(self, protocol: Any, payload: bytes) -> None:
        """A control frame of the lock-step (``START``/``END``/``STOP``) from a peer."""
        peer = protocol.peer_pid
        self.protocols.setdefault(peer, protocol)
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

    def incoming(self, protocol: Any, pc: int, payload: bytes) -> None:
        """One of MPyC's frames: held back until its round inside a block, else delivered."""
        peer = protocol.peer_pid
        self.protocols.setdefault(peer, protocol)
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
