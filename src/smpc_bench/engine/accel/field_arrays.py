"""Field-array construction without MPyC's per-call NumPy version check.

MPyC 0.11's ``FiniteFieldArray.__init__`` parses ``numpy.__version__`` (two ``NumpyVersion``
objects and a dozen regular-expression calls) on every array it creates, to map ``copy=False``
onto NumPy 2's ``copy=None``.  A quantile walk creates thousands of field arrays, which made
this check a few percent of a small round's CPU time.  :func:`install` replaces the constructor
with one that decides the mapping once; everything else is MPyC's code, unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smpc_bench.engine.patches import Patch, PatchSet

__all__ = ["install", "installed", "uninstall"]

_NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0b1"


def _init(self: Any, value: Any, check: bool = True, copy: bool | None = False) -> None:
    if _NUMPY_2 and copy is False:
        copy = None  # NumPy 2: copy only if needed, what copy=False meant before
    value = np.array(value, dtype=object, copy=copy)
    if check:
        value %= self.field.modulus  # in place: keeps the shape of value
    self.value = value


def _patches() -> list[Patch]:
    from mpyc.finfields import FiniteFieldArray

    return [Patch(FiniteFieldArray, "__init__", _init)]


_PATCHES = PatchSet(_patches)


def install() -> None:
    """Use the constructor without the version check (idempotent)."""
    _PATCHES.install()


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _PATCHES.installed


def uninstall() -> None:
    """Restore MPyC's constructor."""
    _PATCHES.uninstall()
