"""The word-wise PRF gives exactly MPyC's pseudorandom numbers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from mpyc import thresha

from smpc_bench.engine.accel import prf as fast_prf

PRIMES = [2**64 - 59, 2**63 + 29, 2**61 - 1, 65521, 3]


def _original_call():  # type: ignore[no-untyped-def]
    """MPyC's own ``PRF.__call__``, whether or not the fast one is installed."""
    return fast_prf._mpyc_call()


@settings(max_examples=80, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), seed=st.binary(max_size=12),
       bound=st.sampled_from(PRIMES + [2**64, 2**127 - 1, 2**32]),
       shape=st.sampled_from([None, 5, 64, 300, (300,), (100, 2), (64, 3)]))
def test_same_numbers_as_mpyc(key: bytes, seed: bytes, bound: int, shape: object) -> None:
    prf = thresha.PRF(key, bound)
    expected = _original_call()(prf, seed, shape)
    got = fast_prf._call(prf, seed, shape)
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == object and got.shape == expected.shape
        assert got.tolist() == expected.tolist()
        assert all(type(v) is int for v in got.flat)
    else:
        assert got == expected


def test_prf_values_against_python_ints() -> None:
    rng = np.random.default_rng(3)
    digest = rng.integers(0, 256, size=24 * 500, dtype=np.uint8).tobytes()
    for bound in PRIMES:
        want = [int.from_bytes(digest[i:i + 24], "little") % bound
                for i in range(0, len(digest), 24)]
        assert [int(v) for v in fast_prf.prf_values(digest, 24, bound)] == want


def test_install_is_idempotent_and_reversible() -> None:
    was = fast_prf.installed()
    fast_prf.uninstall()
    original = thresha.PRF.__call__
    fast_prf.install()
    fast_prf.install()
    assert thresha.PRF.__call__ is fast_prf._call
    fast_prf.uninstall()
    assert thresha.PRF.__call__ is original
    if was:
        fast_prf.install()
