"""One record type for every replacement of an MPyC attribute, and one switch undoing them all."""

from __future__ import annotations

import pytest

from smpc_bench.engine import accel, patches
from smpc_bench.engine.patches import Patch, PatchSet


class Owner:
    def method(self) -> str:
        return "original"


class Child(Owner):
    pass


def test_patch_installs_and_restores_an_inherited_attribute():
    patch = Patch(Child, "method", lambda self: "replaced")
    patch.install()
    try:
        assert Child().method() == "replaced" and patch.installed
        assert patch.original(Child()) == "original"
        patch.install()  # idempotent
        assert patches.active().count(patch) == 1
    finally:
        patch.uninstall()
    assert "method" not in vars(Child)  # back to the base class's own attribute
    assert Child().method() == "original" and not patch.installed
    patch.uninstall()  # idempotent


def test_stacked_patches_must_be_undone_in_reverse_order():
    inner = Patch(Owner, "method", lambda self: "inner").install()
    outer = Patch(Owner, "method", lambda self: "outer").install()
    try:
        with pytest.raises(RuntimeError, match="reverse order"):
            inner.uninstall()
        assert Owner().method() == "outer"
    finally:
        outer.uninstall()
        inner.uninstall()
    assert Owner().method() == "original"


def test_patch_set_is_made_at_install_and_undone_whole():
    made = []

    def make() -> list[Patch]:
        made.append(1)
        return [Patch(Owner, "method", lambda self: "set")]

    group = PatchSet(make)
    assert not group.installed
    group.install()
    group.install()
    assert made == [1] and group.installed and Owner().method() == "set"
    assert group.original("method")(Owner()) == "original"
    group.uninstall()
    assert not group.installed and Owner().method() == "original"


def test_uninstall_all_restores_mpyc_exactly():
    from mpyc import finfields, thresha

    from smpc_bench.engine.accel import sharing

    was_installed = sharing.installed()  # the driver installs the speed-ups for the process
    accel.uninstall()
    originals = (thresha.np_random_split, thresha.np_recombine, thresha.PRF.__call__,
                 finfields.PrimeFieldArray.__matmul__, finfields.FiniteFieldArray.__init__)
    accel.install()
    extra = Patch(thresha, "np_recombine", lambda *args: None)
    try:
        extra.install()
        assert thresha.np_recombine is not originals[1]
    finally:
        patches.uninstall_all()
    assert (thresha.np_random_split, thresha.np_recombine, thresha.PRF.__call__,
            finfields.PrimeFieldArray.__matmul__, finfields.FiniteFieldArray.__init__) == originals
    assert patches.active() == []
    accel.install()  # the speed-ups go back on after the switch
    try:
        assert thresha.np_random_split is not originals[0]
    finally:
        accel.uninstall()
    assert thresha.np_random_split is originals[0]
    if was_installed:
        accel.install()
