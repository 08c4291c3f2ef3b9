"""Who made an opening: the rule that tells masked openings from declared outputs.

Both the cost counters (:mod:`smpc_bench.costs.tracking`, ``library_openings``) and the opening
log (:mod:`smpc_bench.costs.openings`) classify every call of ``Runtime.output`` with the same
rule, :func:`called_from_subprotocol`, from inside their wrappers of that method.
"""

from __future__ import annotations

import sys
from types import FrameType

from smpc_bench.engine.local_shares import opening_is_masked
from smpc_bench.engine.patches import is_replacement_code

__all__ = ["called_from_subprotocol", "opening_caller"]


def _skip_wrappers(frame: FrameType | None) -> FrameType | None:
    while frame is not None and is_replacement_code(frame.f_code):
        frame = frame.f_back
    return frame


def opening_caller() -> FrameType | None:
    """The frame that called ``Runtime.output``, seen from inside a wrapper of it.

    Skips the installed wrappers (:func:`smpc_bench.engine.patches.is_replacement_code`) and the
    frames of :mod:`smpc_bench.costs` itself (the counting and logging functions).
    """
    frame = _skip_wrappers(sys._getframe(1))
    # The wrappers' own helpers (count and log functions), then the wrappers: skip both.
    while frame is not None and frame.f_globals.get("__name__", "").startswith("smpc_bench.costs"):
        frame = frame.f_back
    return _skip_wrappers(frame)


def called_from_subprotocol() -> bool:
    """Whether the opening being made is a masked one, not a declared output.

    Masked are the openings our sub-protocols mark as such
    (:func:`smpc_bench.engine.local_shares.open_values` with ``masked=True``) and those MPyC's
    own code makes (comparisons, bit decompositions, zero tests): the first frame above the
    installed wrappers (:func:`opening_caller`) runs a module of the ``mpyc`` package.
    """
    if opening_is_masked():
        return True
    frame = opening_caller()
    if frame is None:
        return False
    module = str(frame.f_globals.get("__name__", ""))
    return module == "mpyc" or module.startswith("mpyc.")
