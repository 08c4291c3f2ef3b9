"""One dispatcher for everything a peer sends: MPyC's frames and smpc-bench's control frames.

MPyC 0.11 frames every message as ``pc`` (8-byte signed program counter), ``size`` (4 bytes)
and the payload, and its ``MessageExchanger.data_received`` hands each payload to the future
waiting for that ``pc``.  smpc-bench sends a few frames of its own over the same connections,
each kind under a *reserved* program counter (MPyC's are 64-bit hashes of call positions, so a
fixed constant does not collide): the lock-step markers of :mod:`smpc_bench.costs.lockstep` and
the hello, heartbeat, goodbye and abort frames of :mod:`smpc_bench.engine.liveness`.

Both need ``data_received``, so there is one replacement of it (:func:`install`, one
:class:`~smpc_bench.engine.patches.Patch`), and each user registers what it needs:

* :func:`register`: a handler for the frames of one reserved program counter;
* :func:`set_sink`: where MPyC's own frames go (default: MPyC's delivery; the lock-step holds
  them back until the round they belong to);
* :func:`set_gate`: a check every connection passes before MPyC sees any of its bytes (the
  liveness hello: a peer from another round is refused before anything is unpickled);
* :func:`set_observer`: told of every chunk of bytes received (the progress watchdog).

MPyC internals used: ``MessageExchanger.data_received`` (replaced), ``.bytes``, ``.buffers``,
``.peer_pid``, ``.transport``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from smpc_bench.engine.patches import Patch

__all__ = ["HEADER", "deliver", "frame", "install", "installed", "register", "send_frame",
           "set_gate", "set_observer", "set_sink"]

#: Bytes of a frame header: program counter (``<q``) and payload size (``<I``).
HEADER = 12

Handler = Callable[[Any, bytes], None]
Sink = Callable[[Any, int, bytes], None]
#: ``gate(protocol, data)``: None while the connection is held at the gate (the bytes are the
#: gate's), else the bytes MPyC may see (all of ``data``, or what follows the gate's frames).
Gate = Callable[[Any, bytes], "bytes | None"]

_handlers: dict[int, Handler] = {}
_sink: Sink | None = None
_gate: Gate | None = None
_observer: Callable[[Any], None] | None = None
_patch: Patch | None = None


def frame(pc: int, payload: bytes) -> bytes:
    """One frame in MPyC's wire format."""
    return struct.pack(f"<qI{len(payload)}s", pc, len(payload), payload)


def send_frame(protocol: Any, pc: int, payload: bytes) -> bool:
    """Write a frame on a peer connection unless it is closing; whether it was written.

    Control frames bypass ``MessageExchanger.send``, so they are not counted as MPyC traffic
    (:mod:`smpc_bench.costs`) nor in MPyC's ``nbytes_sent``.
    """
    transport = protocol.transport
    if transport is None or transport.is_closing():
        return False
    transport.write(frame(pc, payload))
    return True


def deliver(protocol: Any, pc: int, payload: bytes) -> None:
    """What MPyC 0.11's ``MessageExchanger.data_received`` does with one frame."""
    if pc in protocol.buffers:
        protocol.buffers.pop(pc).set_result(payload)
    else:
        protocol.buffers[pc] = payload


def register(pc: int, handler: Handler | None) -> None:
    """Send the frames of reserved program counter ``pc`` to ``handler`` (None: stop)."""
    if handler is None:
        _handlers.pop(pc, None)
    else:
        _handlers[pc] = handler


def set_sink(sink: Sink | None) -> None:
    """Where MPyC's frames go once parsed (None: straight to MPyC, :func:`deliver`)."""
    global _sink
    _sink = sink


def set_gate(gate: Gate | None) -> None:
    """The check every connection passes before MPyC sees its bytes (None: no gate)."""
    global _gate
    _gate = gate


def set_observer(observer: Callable[[Any], None] | None) -> None:
    """Called with the protocol on every chunk of bytes received (None: nobody)."""
    global _observer
    _observer = observer


def _dispatch(protocol: Any, pc: int, payload: bytes) -> None:
    handler = _handlers.get(pc)
    if handler is not None:
        handler(protocol, payload)
    elif _sink is not None:
        _sink(protocol, pc, payload)
    else:
        deliver(protocol, pc, payload)


def _make_data_received(original: Callable[[Any, bytes], None]) -> Callable[[Any, bytes], None]:
    def data_received(protocol: Any, data: bytes) -> None:
        if _observer is not None:
            _observer(protocol)
        if _gate is not None:
            passed = _gate(protocol, data)
            if passed is None:
                return
            data = passed
        if protocol.peer_pid is None:
            # The server side of MPyC's handshake (the peer's index, perhaps PRSS keys): MPyC's
            # own code, which puts the frames that came with it into the buffers.
            original(protocol, data)
            for pc in list(_handlers):
                payload = protocol.buffers.get(pc)
                if isinstance(payload, bytes | bytearray):
                    del protocol.buffers[pc]
                    _handlers[pc](protocol, bytes(payload))
            return
        buffer = protocol.bytes
        buffer.extend(data)
        while len(buffer) >= HEADER:
            pc, size = struct.unpack_from("<qI", buffer)
            if len(buffer) < size + HEADER:
                break
            payload = bytes(buffer[HEADER:HEADER + size])
            del buffer[:size + HEADER]
            _dispatch(protocol, pc, payload)

    return data_received


def install() -> None:
    """Replace ``MessageExchanger.data_received`` by the dispatcher (idempotent).

    It stays installed (a pass-through when nothing is registered);
    :func:`smpc_bench.engine.patches.uninstall_all` removes it with every other patch.
    """
    global _patch
    if _patch is not None and _patch.installed:
        return
    from mpyc import asyncoro

    original = asyncoro.MessageExchanger.data_received
    _patch = Patch(asyncoro.MessageExchanger, "data_received",
                   _make_data_received(original)).install()


def installed() -> bool:
    """Whether the dispatcher is in place."""
    return _patch is not None and _patch.installed
