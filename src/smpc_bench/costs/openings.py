"""Record every value MPyC opens, to test that what is opened does not depend on the data.

Every opening in MPyC, including the masked ones inside comparisons and random-bit generation,
goes through ``Runtime.output``; :func:`record_openings` wraps it for the duration of a block
and logs the public shape of each call (never the values)::

    with record_openings() as log:
        mpc.run(compute(table))
    assert log.signature() == other_log.signature()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from smpc_bench.engine.driver import runtime

__all__ = ["Opening", "OpeningLog", "record_openings"]


@dataclass(frozen=True)
class Opening:
    """Public facts about one call of ``Runtime.output``."""

    kind: str  # "array", "list" or "scalar"
    shape: tuple[int, ...]
    threshold: int | None
    receivers: tuple[int, ...] | None


@dataclass
class OpeningLog:
    """The openings seen while recording, in call order."""

    openings: list[Opening] = field(default_factory=list)

    def signature(self) -> tuple[Opening, ...]:
        """Hashable summary: equal for two runs iff they opened the same shapes in order."""
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


@contextlib.contextmanager
def record_openings() -> Iterator[OpeningLog]:
    """Log every ``mpc.output`` call made while the block runs (not re-entrant)."""
    mpc = runtime()
    original = mpc.output
    log = OpeningLog()

    def recording_output(x: Any, receivers: Any = None, threshold: Any = None,
                         raw: bool = False) -> Any:
        kind, shape = _describe(x)
        if isinstance(receivers, int):
            receivers_key: tuple[int, ...] | None = (receivers,)
        else:
            receivers_key = None if receivers is None else tuple(receivers)
        log.openings.append(Opening(kind, shape, threshold, receivers_key))
        return original(x, receivers=receivers, threshold=threshold, raw=raw)

    mpc.output = recording_output
    try:
        yield log
    finally:
        del mpc.output  # back to the class's method
