"""The field-array constructor without the version check behaves exactly as MPyC's."""

from __future__ import annotations

import numpy as np
import pytest
from mpyc import finfields

from smpc_bench.engine.accel import field_arrays as fast_arrays

FIELD = finfields.GF(2**61 - 1)


@pytest.fixture(params=[False, True], ids=["mpyc", "fast"])
def constructor(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    was = fast_arrays.installed()
    if request.param:
        fast_arrays.install()
    else:
        fast_arrays.uninstall()
    yield request.param
    (fast_arrays.install if was else fast_arrays.uninstall)()


@pytest.mark.usefixtures("constructor")
def test_values_are_reduced_unless_told_not_to() -> None:
    modulus = FIELD.modulus
    raw = np.array([[-1, modulus, modulus + 5], [2, 3, 4]], dtype=object)
    assert FIELD.array(raw).value.tolist() == [[modulus - 1, 0, 5], [2, 3, 4]]
    unchecked = FIELD.array(np.array([1, 2], dtype=object), check=False)
    assert unchecked.value.tolist() == [1, 2] and unchecked.value.dtype == object


@pytest.mark.usefixtures("constructor")
def test_copy_semantics() -> None:
    source = np.array([1, 2, 3], dtype=object)
    shared = FIELD.array(source, check=False)  # copy=False: no copy where none is needed
    assert np.shares_memory(shared.value, source)
    copied = FIELD.array(source, check=False, copy=True)
    assert not np.shares_memory(copied.value, source)
    from_list = FIELD.array([5, 6], check=False)
    assert from_list.value.tolist() == [5, 6]


def test_install_is_idempotent_and_reversible() -> None:
    was = fast_arrays.installed()
    fast_arrays.uninstall()
    original = finfields.FiniteFieldArray.__init__
    fast_arrays.install()
    fast_arrays.install()
    assert fast_arrays.installed() and finfields.FiniteFieldArray.__init__ is not original
    fast_arrays.uninstall()
    assert not fast_arrays.installed() and finfields.FiniteFieldArray.__init__ is original
    if was:
        fast_arrays.install()
