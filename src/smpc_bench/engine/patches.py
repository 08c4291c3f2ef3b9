"""Every replacement of an MPyC attribute is one :class:`Patch`: installed, undone, listed.

smpc-bench replaces a few MPyC functions and methods with exactly equivalent faster ones
(:mod:`smpc_bench.engine.accel`) and wraps others for the duration of a measurement
(:mod:`smpc_bench.costs`).  All of them go through this record, so that there is one way to
install and undo a replacement, :func:`active` lists what is in effect, and :func:`uninstall_all`
is the one switch that restores MPyC exactly as it was (tests and debugging).

Replacements of one attribute may stack (a cost measurement wrapping a method that the opening
log wraps as well); they are undone in reverse order, which the context managers that install
them guarantee, and :meth:`Patch.uninstall` refuses any other order rather than silently
dropping the replacement stacked on top.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

__all__ = ["Patch", "PatchSet", "active", "is_replacement_code", "uninstall_all"]

_MISSING = object()
_lock = threading.Lock()
_installed: list[Patch] = []
#: Code objects of every installed replacement: frames running them are wrappers, not callers.
_replacement_codes: set[CodeType] = set()


def _code_of(value: Any) -> CodeType | None:
    function = getattr(value, "__func__", value)
    code = getattr(function, "__code__", None)
    return code if isinstance(code, CodeType) else None


@dataclass(eq=False)
class Patch:
    """Replace ``owner.name`` (a module, class or instance attribute) by ``replacement``.

    Attributes:
        owner: The module, class or object whose attribute is replaced.
        name: The attribute's name.
        replacement: The new value; it may call :attr:`original` to delegate.
        original: What was there before :meth:`install` (set by it).
    """

    owner: Any
    name: str
    replacement: Any
    original: Any = field(default=None, init=False)
    _had_own: bool = field(default=False, init=False)

    @property
    def installed(self) -> bool:
        """Whether this patch is in effect."""
        return self in _installed

    def install(self) -> Patch:
        """Put the replacement in place (idempotent); returns the patch for chaining."""
        with _lock:
            if self in _installed:
                return self
            own = vars(self.owner) if hasattr(self.owner, "__dict__") else {}
            self._had_own = self.name in own
            self.original = getattr(self.owner, self.name)
            setattr(self.owner, self.name, self.replacement)
            _installed.append(self)
            code = _code_of(self.replacement)
            if code is not None:
                _replacement_codes.add(code)
        return self

    def uninstall(self) -> None:
        """Restore what was there before (idempotent).

        Raises:
            RuntimeError: If another patch of the same attribute was installed after this one
                and is still in effect (undo that one first).
        """
        with _lock:
            if self not in _installed:
                return
            later = _installed[_installed.index(self) + 1:]
            if any(p.owner is self.owner and p.name == self.name for p in later):
                raise RuntimeError(f"patches of {self.name} must be undone in reverse order")
            _installed.remove(self)
            if self._had_own:
                setattr(self.owner, self.name, self.original)
            else:
                try:
                    delattr(self.owner, self.name)  # back to the class's own attribute
                except AttributeError:
                    setattr(self.owner, self.name, self.original)
            code = _code_of(self.replacement)
            if code is not None and not any(_code_of(p.replacement) is code for p in _installed):
                _replacement_codes.discard(code)


class PatchSet:
    """The patches of one speed-up, made when first installed (their targets import MPyC).

    Args:
        make: Returns the speed-up's patches (not installed yet); called at each install.
    """

    def __init__(self, make: Callable[[], list[Patch]]) -> None:
        self._make = make
        self._patches: list[Patch] = []

    @property
    def installed(self) -> bool:
        """Whether every patch of the set is in effect."""
        return bool(self._patches) and all(patch.installed for patch in self._patches)

    def install(self) -> None:
        """Install the set (idempotent)."""
        if self.installed:
            return
        self.uninstall()
        self._patches = self._make()
        for patch in self._patches:
            patch.install()

    def uninstall(self) -> None:
        """Undo the set (idempotent)."""
        for patch in reversed(self._patches):
            patch.uninstall()
        self._patches = []

    def original(self, name: str) -> Any:
        """What the patch of attribute ``name`` replaced."""
        for patch in self._patches:
            if patch.name == name:
                return patch.original
        raise KeyError(name)


def active() -> list[Patch]:
    """The patches in effect, in the order they were installed."""
    return list(_installed)


def uninstall_all() -> None:
    """Restore every patched MPyC attribute (the speed-ups, cost wrappers and message hooks)."""
    for patch in reversed(active()):
        patch.uninstall()


def is_replacement_code(code: CodeType) -> bool:
    """Whether a frame running ``code`` is one of the installed replacements (a wrapper)."""
    return code in _replacement_codes
