"""Counting the deterministic costs of the MPyC calls made inside a block: :func:`track`.

Wraps MPyC 0.11's ``Runtime`` methods (``output``, ``_reshare``, ``_distribute``,
``transfer``, ``np_sgn``/``sgn``, ``np_to_bits``/``to_bits``, ``barrier``, ``start``,
``shutdown``) and ``MessageExchanger.send`` for the duration of the block, each through one
:class:`smpc_bench.engine.patches.Patch`.  What each counter means and how rounds are counted
is in :mod:`smpc_bench.costs`.
"""


from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smpc_bench.core import less_than as comparison
from smpc_bench.costs.callers import called_from_subprotocol
from smpc_bench.costs.lockstep import _LOCKSTEP, _frame
from smpc_bench.costs.rounds import COMMUNICATING, _held_method, _RoundClock
from smpc_bench.engine.driver import runtime
from smpc_bench.engine.patches import Patch

__all__ = ["Costs", "format_costs", "run", "track"]

T = TypeVar("T")


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


# --------------------------------------------------------------------------------------------
# The synchronous network simulation (rounds)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# The synchronous network with several parties (rounds in lock-step)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Tracking
# --------------------------------------------------------------------------------------------


def _counting_methods(cost: Costs) -> dict[str, Callable[[tuple[Any, ...], dict[str, Any]],
                                                           None]]:
    """Per Runtime method name: what to count for a call with these arguments."""

    def on_output(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        cost.openings += 1
        cost.opened_elements += _elements(_argument(args, kwargs, 0, "x"))
        if not called_from_subprotocol():
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

    installed: list[Patch] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        installed.append(Patch(owner, name, value).install())

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
        for installed_patch in reversed(installed):
            installed_patch.uninstall()
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
