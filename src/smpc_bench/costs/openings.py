"""Record every value MPyC opens, to test that what is opened does not depend on the data.

Every opening in MPyC, including the masked ones inside comparisons and random-bit generation,
goes through ``Runtime.output``; :func:`record_openings` wraps it for the duration of a block
and logs the public facts of each call: its shape, receivers, whether it is masked (the rule
of :func:`smpc_bench.costs.callers.called_from_subprotocol`, the one ``library_openings``
counts by) and where it was made::

    with record_openings() as log:
        mpc.run(compute(table))
    assert log.signature() == other_log.signature()

Tests can also ask for the opened *values* (``record_openings(values=True)``, 1-party local
simulations only: the values stay in this process's memory), to check that every opening that
is not a declared output changes with the randomness and is distributed independently of the
data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.costs.callers import called_from_subprotocol, opening_caller
from smpc_bench.engine.driver import runtime
from smpc_bench.engine.patches import Patch, is_replacement_code

__all__ = ["Opening", "OpeningLog", "record_openings"]

#: Most calling functions kept in :attr:`Opening.caller`.
_CALLER_DEPTH = 8


@dataclass(frozen=True)
class Opening:
    """Public facts about one call of ``Runtime.output``.

    Attributes:
        kind: ``"array"``, ``"list"`` or ``"scalar"``.
        shape: The shape opened (lists: their length, then the items' shape).
        threshold: The threshold passed, if any.
        receivers: The receivers passed, if any.
        masked: Made by a masked sub-protocol (MPyC's own code, or marked by
            :func:`smpc_bench.engine.local_shares.open_values`); otherwise a declared output or
            a library protocol's own opening (the input check, the shuffle's destinations).
        caller: Where the opening was made: ``module.function`` of the calling functions,
            innermost first, up to the first function outside smpc_bench and MPyC (wrappers
            skipped).  Not part of the comparison (:meth:`OpeningLog.signature`).
        values: With ``record_openings(values=True)``: the opened values, flattened, as ints
            in ``[0, p)`` for the field's prime ``p`` (None until the opening completes, and
            for values that are not integers).  Not part of the comparison.
    """

    kind: str
    shape: tuple[int, ...]
    threshold: int | None
    receivers: tuple[int, ...] | None
    masked: bool = False
    caller: tuple[str, ...] = field(default=(), compare=False)
    values: tuple[int, ...] | None = field(default=None, compare=False, repr=False)


@dataclass
class OpeningLog:
    """The openings seen while recording, in call order."""

    openings: list[Opening] = field(default_factory=list)

    def signature(self) -> tuple[Opening, ...]:
        """Hashable summary: equal for two runs iff they opened the same shapes in order.

        Also equal only if the same openings were masked; callers and values are left out.
        """
        return tuple(self.openings)

    def __len__(self) -> int:
        return len(self.openings)


def _describe(x: Any) -> tuple[str, tuple[int, ...]]:
    if isinstance(x, list):
        inner = getattr(x[0], "shape", ()) if x else ()
        return "list", (len(x), *inner)
    shape = getattr(x, "shape", None)
    if shape is not None:
        return "array", tuple(int(s) for s in shape)
    return "scalar", ()


def _caller() -> tuple[str, ...]:
    """``module.qualname`` of the functions that made the opening, innermost first."""
    names: list[str] = []
    frame = opening_caller()
    while frame is not None and len(names) < _CALLER_DEPTH:
        if not is_replacement_code(frame.f_code):
            module = str(frame.f_globals.get("__name__", ""))
            if module.split(".")[0] not in ("smpc_bench", "mpyc"):
                break
            names.append(f"{module}.{frame.f_code.co_qualname}")
        frame = frame.f_back
    return tuple(names)


def _modulus(x: Any) -> int | None:
    """The prime of the field ``x`` (a secure or field object, or a list of them) lives in."""
    item = x[0] if isinstance(x, list) and x else x
    for candidate in (getattr(item, "field", None),
                      getattr(getattr(type(item), "sectype", None), "field", None), type(item)):
        modulus = getattr(candidate, "modulus", None)
        if isinstance(modulus, int):
            return modulus
    return None


def _flat_ints(y: Any) -> list[int] | None:
    """The opened result (ints, field elements or arrays, or lists of them) as a flat list."""
    if y is None:  # this party is not a receiver
        return None
    if isinstance(y, (list, tuple)):
        parts = [_flat_ints(item) for item in y]
        if any(part is None for part in parts):
            return None
        return [v for part in parts for v in part or ()]
    value = getattr(y, "value", y)  # field elements and field arrays hold ints or an array
    items = value.reshape(-1).tolist() if isinstance(value, np.ndarray) else [value]
    try:
        return [operator.index(v) for v in items]
    except TypeError:  # fixed-point or floating-point outputs: not recorded
        return None


@contextlib.contextmanager
def record_openings(*, values: bool = False) -> Iterator[OpeningLog]:
    """Log every ``mpc.output`` call made while the block runs (not re-entrant).

    Args:
        values: Also record the opened values (:attr:`Opening.values`), for tests.  Only in a
            1-party local simulation: a party of a real round never keeps them.

    Raises:
        ValueError: If ``values`` is asked for with more than one party.
    """
    mpc = runtime()
    if values and len(mpc.parties) > 1:
        raise ValueError("opened values are only recorded in a 1-party local simulation")
    original = mpc.output
    log = OpeningLog()

    def record_values(index: int, result: Any, modulus: int | None) -> None:
        flat = _flat_ints(result)
        if flat is not None and modulus is not None:
            flat = [v % modulus for v in flat]
        opened = None if flat is None else tuple(flat)
        log.openings[index] = dataclasses.replace(log.openings[index], values=opened)

    def recording_output(x: Any, receivers: Any = None, threshold: Any = None,
                         raw: bool = False) -> Any:
        kind, shape = _describe(x)
        if isinstance(receivers, int):
            receivers_key: tuple[int, ...] | None = (receivers,)
        else:
            receivers_key = None if receivers is None else tuple(receivers)
        index = len(log.openings)
        log.openings.append(Opening(kind, shape, threshold, receivers_key,
                                    called_from_subprotocol(), _caller()))
        modulus = _modulus(x) if values else None
        result = original(x, receivers=receivers, threshold=threshold, raw=raw)
        if values:
            if not isinstance(result, asyncio.Future):
                record_values(index, result, modulus)
            elif result.done():  # synchronous MPyC (one party): already opened
                if not result.cancelled() and result.exception() is None:
                    record_values(index, result.result(), modulus)
            else:
                result.add_done_callback(
                    lambda done: None if done.cancelled() or done.exception() is not None
                    else record_values(index, done.result(), modulus))
        return result

    patch = Patch(mpc, "output", recording_output).install()  # this runtime only
    try:
        yield log
    finally:
        patch.uninstall()  # back to the class's method
