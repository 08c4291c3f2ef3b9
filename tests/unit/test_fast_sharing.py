"""Unit tests for smpc_bench.engine.accel.sharing (no MPC processes; no mpyc.runtime)."""

from __future__ import annotations

import importlib.util
import os
import pickle
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpyc import finfields, gfpx, thresha
from mpyc.gmpy import next_prime, prev_prime

from smpc_bench.engine.accel import sharing as fs

# Other tests may already have started the runtime, which installs the fast versions.
ORIGINAL_SPLIT = fs.original_np_random_split
ORIGINAL_RECOMBINE = fs.original_np_recombine


def prime(k: int) -> int:
    return int(next_prime(2**k))


#: Primes covering every code path: tiny, uint64 with direct Horner, float64-assisted
#: recombination limit (2**56) on both sides, the double-and-add Horner (63, 64 bits), just below
#: 2**64, and the multi-limb object path (80, 127, 300 bits).
PRIMES = [
    3,
    5,
    prime(8),
    prime(20),
    prime(52),
    int(prev_prime(2**56)),
    prime(56),
    prime(62),
    prime(63),
    int(prev_prime(2**64)),
    prime(64),
    prime(80),
    prime(127),
    prime(300),
]


@pytest.fixture(autouse=True)
def _restore_thresha() -> Iterator[None]:
    yield
    thresha.np_random_split = ORIGINAL_SPLIT
    thresha.np_recombine = ORIGINAL_RECOMBINE


def field_for(p: int) -> type:
    return finfields.GF(p)  # type: ignore[no-any-return]


def random_secrets(p: int, n: int, rng: random.Random) -> np.ndarray:
    edge = [0, 1, p - 1, p // 2][:n]
    return np.array(edge + [rng.randrange(p) for _ in range(n - len(edge))], dtype=object)


def threshold_and_parties(p: int, rng: random.Random) -> list[tuple[int, int]]:
    cases = [(0, 1), (1, 2), (1, 3), (2, 5), (3, 7)] + [
        (t, 2 * t + 1 + rng.randrange(3)) for t in (rng.randrange(1, 6),)
    ]
    return [(t, m) for t, m in cases if m < p]


# --------------------------------------------------------------------------------------------
# np_random_split
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", PRIMES, ids=lambda p: f"{p.bit_length()}bit")
def test_split_recombines_to_secret(p: int) -> None:
    rng = random.Random(p)
    field = field_for(p)
    for t, m in threshold_and_parties(p, rng):
        s = random_secrets(p, 41, rng)
        shares = fs.np_random_split(field, field.array(s), t, m)
        assert isinstance(shares, np.ndarray)
        assert shares.shape == (m, len(s))
        # Rows in 64-bit words when they fit (they pickle as raw bytes), else Python ints.
        assert shares.dtype == (np.uint64 if p < 2**64 else object)
        assert all(type(v) is int and 0 <= v < p for v in np.ravel(shares).tolist())
        # Any t+1 shares determine the secret; use all of them and a random subset.
        points = [(i + 1, shares[i]) for i in range(m)]
        assert list(fs.original_np_recombine(field, points).value) == list(s)
        subset = rng.sample(points, t + 1)
        assert list(fs.original_np_recombine(field, subset).value) == list(s)


@pytest.mark.parametrize("p", PRIMES, ids=lambda p: f"{p.bit_length()}bit")
def test_split_shares_lie_on_degree_t_polynomial(p: int) -> None:
    """With 2t < m, recombining all m shares at t+1 other points must agree with any subset."""
    field = field_for(p)
    t, m = (1, 3) if p > 3 else (1, 2)
    s = random_secrets(p, 17, random.Random(1))
    shares = fs.np_random_split(field, s, t, m)
    points = [(i + 1, shares[i]) for i in range(m)]
    # Interpolating through t+1 points and evaluating at the remaining x-coordinates
    # reproduces the remaining shares exactly iff all shares lie on one degree-t polynomial.
    first = points[: t + 1]
    rest_x = [x for x, _ in points[t + 1 :]]
    if rest_x:
        predicted = fs.original_np_recombine(field, first, rest_x)
        for row, (_, share) in zip(predicted.value, points[t + 1 :], strict=True):
            assert list(row) == list(share)


@pytest.mark.parametrize(
    "p", [prime(20), prime(63), prime(80)], ids=lambda p: f"{p.bit_length()}bit"
)
def test_split_reduces_unreduced_and_negative_secrets(p: int) -> None:
    field = field_for(p)
    s = np.array([-1, -p, p, 2 * p + 3, 2**70 + 5, -(2**70), 0], dtype=object)
    shares = fs.np_random_split(field, s, 1, 3)
    assert all(type(v) is int and 0 <= v < p for v in np.ravel(shares).tolist())
    got = fs.original_np_recombine(field, [(i + 1, shares[i]) for i in range(3)])
    assert list(got.value) == [v % p for v in s]


def test_split_accepts_plain_object_array_and_empty_input() -> None:
    field = field_for(prime(52))
    shares = fs.np_random_split(field, np.array([5, 7], dtype=object), 1, 3)
    assert shares.shape == (3, 2)
    empty = fs.np_random_split(field, np.array([], dtype=object), 1, 3)
    assert empty.shape == (3, 0)


def test_split_t0_gives_the_secret_to_everyone() -> None:
    p = prime(52)
    s = np.array([3, p - 1, 0], dtype=object)
    shares = fs.np_random_split(field_for(p), s, 0, 4)
    assert shares.tolist() == [list(s)] * 4


def test_split_draws_from_os_urandom(monkeypatch: pytest.MonkeyPatch) -> None:
    """All-zero OS randomness gives zero coefficients: every share equals the secret."""
    monkeypatch.setattr(os, "urandom", lambda k: bytes(k))
    for p in (prime(52), prime(64), prime(127)):
        s = np.array([1, 2, 3], dtype=object)
        assert fs.np_random_split(field_for(p), s, 2, 5).tolist() == [[1, 2, 3]] * 5


def test_split_falls_back_for_extension_fields() -> None:
    field = finfields.GF(gfpx.GFpX(2).next_irreducible(2**8 - 1))
    s = field.array([3, 200, 0, 255])
    shares = fs.np_random_split(field, s, 1, 3)
    got = fs.original_np_recombine(field, [(i + 1, shares[i]) for i in range(3)])
    assert list(got.value) == list(s.value)


# --------------------------------------------------------------------------------------------
# Uniformity of the coefficients
# --------------------------------------------------------------------------------------------

#: Chi-square bound for 15 degrees of freedom: P(X > 100) < 1e-13 under uniformity.  A modulo
#: reduction of bitlen(p)-bit values for p ~ 1.5 * 2**k doubles the mass of [0, p/3) and gives a
#: statistic in the thousands at this sample size; masking one bit too few loses the top third.
CHI2_BOUND = 100.0
BINS = 16
DRAWS = 64_000


def prime_near_one_and_a_half_power(k: int) -> int:
    return int(next_prime(3 * 2 ** (k - 1)))


def chi_square_equal_bins(values: list[int], p: int) -> float:
    counts = [0] * BINS
    for v in values:
        counts[v * BINS // p] += 1
    # Bin b holds the integers v in [0, p) with v * BINS // p == b, i.e. ceil(b p / BINS) <= v.
    edges = [-(-b * p // BINS) for b in range(BINS + 1)]
    total = len(values)
    chi2 = 0.0
    for b in range(BINS):
        expected = (edges[b + 1] - edges[b]) * total / p
        chi2 += (counts[b] - expected) ** 2 / expected
    return chi2


@pytest.mark.parametrize("k", [12, 40, 62, 63, 100], ids=lambda k: f"1.5x2^{k}")
def test_uniform_below_is_uniform(k: int) -> None:
    p = prime_near_one_and_a_half_power(k)
    values = [int(v) for v in fs.uniform_below(p, DRAWS)]
    assert all(0 <= v < p for v in values)
    assert chi_square_equal_bins(values, p) < CHI2_BOUND
    # The top bit of bitlen(p) is set with probability (p - 2**k) / p, about 1/3.
    top = sum(v >> k for v in values) / DRAWS
    assert abs(top - (p - 2**k) / p) < 0.02


@pytest.mark.parametrize(
    "p",
    [prime_near_one_and_a_half_power(50), prime_near_one_and_a_half_power(90)],
    ids=["50bit", "90bit"],
)
def test_split_coefficients_are_uniform(p: int) -> None:
    """For t = 1 and secret 0, the share of party 1 is the random coefficient itself."""
    shares = fs.np_random_split(field_for(p), np.zeros(DRAWS, dtype=object), 1, 3)
    assert chi_square_equal_bins([int(v) for v in shares[0]], p) < CHI2_BOUND


def test_uniform_below_near_power_of_two() -> None:
    """Bounds at and just below 2**64 (the filter and the no-filter path) and just above 2**k."""
    for bound in (2**64, int(prev_prime(2**64)), prime(20), 2, 1):
        values = fs.uniform_below(bound, 4000)
        assert values.dtype == object and len(values) == 4000
        assert all(type(v) is int and 0 <= v < bound for v in values)
    # With 4000 draws below 2**64, the top bit is set about half the time.
    top = sum(int(v) >> 63 for v in fs.uniform_below(2**64, 4000))
    assert 1600 < top < 2400
    assert fs.uniform_below(2**20, 0).shape == (0,)


def test_uniform_below_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        fs.uniform_below(0, 3)
    with pytest.raises(ValueError):
        fs.uniform_below(5, -1)


# --------------------------------------------------------------------------------------------
# np_recombine
# --------------------------------------------------------------------------------------------


# Small arrays recombine with Python ints, large ones in 64-bit words: test both paths.
SIZES = [33, fs._MIN_WORD_RECOMBINE_SMALL + 5, fs._MIN_WORD_RECOMBINE + 7]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("p", PRIMES, ids=lambda p: f"{p.bit_length()}bit")
def test_recombine_equals_original(p: int, size: int) -> None:
    rng = random.Random(p + 1)
    field = field_for(p)
    for t, m in threshold_and_parties(p, rng):
        s = random_secrets(p, size, rng)
        shares = fs.original_np_random_split(field, s, t, m)
        points = [(i + 1, shares[i]) for i in range(m)]
        for pts in (points, rng.sample(points, t + 1)):
            fast = fs.np_recombine(field, pts)
            slow = fs.original_np_recombine(field, pts)
            assert type(fast) is type(slow)
            assert fast.shape == slow.shape == (len(s),)
            assert list(fast.value) == list(slow.value) == list(s)
            assert all(type(v) is int for v in fast.value)
        x_rs = [0, 1, m + 1][: max(1, min(3, p - m - 1))]
        fast = fs.np_recombine(field, points, x_rs)
        slow = fs.original_np_recombine(field, points, x_rs)
        assert fast.shape == slow.shape
        assert fast.value.tolist() == slow.value.tolist()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("p", [prime(20), prime(63), int(prev_prime(2**64))],
                         ids=lambda p: f"{p.bit_length()}bit")
def test_recombine_word_rows_as_sent_by_the_fast_split(p: int, size: int) -> None:
    """Rows as MPyC passes them on: the fast split's word rows after a pickle round trip, and
    a mix with object rows (a peer running stock MPyC): the same secrets as MPyC's own."""
    field = field_for(p)
    s = random_secrets(p, size, random.Random(size))
    words = fs.np_random_split(field, s, 1, 3)
    received = [pickle.loads(pickle.dumps(row)) for row in words]
    assert all(row.dtype == np.uint64 for row in received)
    mixed = [received[0], received[1].astype(object), received[2]]
    for rows in (received, mixed):
        points = [(i + 1, rows[i]) for i in range(3)]
        assert fs.np_recombine(field, points).value.tolist() == list(s)
        assert fs.original_np_recombine(field, points).value.tolist() == list(s)


@pytest.mark.parametrize(
    "p",
    [prime(20), int(prev_prime(2**56)), prime(62), prime(63), int(prev_prime(2**64)), prime(64)],
    ids=lambda p: f"{p.bit_length()}bit-{p % 1000}",
)
@pytest.mark.parametrize("size", SIZES)
def test_recombine_arbitrary_share_values(p: int, size: int) -> None:
    """Shares need not lie on a polynomial, nor be reduced: same linear combination mod p."""
    rng = random.Random(7)
    field = field_for(p)
    rows = [
        np.array([-1, p, p - 1, 0, 2**70] + [rng.randrange(p) for _ in range(size)], dtype=object)
        for _ in range(3)
    ]
    points = [(i + 1, rows[i]) for i in range(3)]
    assert (
        fs.np_recombine(field, points).value.tolist()
        == fs.original_np_recombine(field, points).value.tolist()
    )


MULMOD_MODULI = [
    3,
    prime(20),
    int(prev_prime(2**56)),
    int(prev_prime(2**63)),
    prime(63),
    int(prev_prime(2**64)),
    2**64 - 1,
]


@pytest.mark.parametrize("p", MULMOD_MODULI, ids=lambda p: f"{p.bit_length()}bit-{p % 1000}")
def test_mulmod_scalar_is_exact(p: int) -> None:
    rng = random.Random(p)
    a = np.array(
        [0, 1, p - 1, p - 2, p // 2, p // 2 + 1] + [rng.randrange(p) for _ in range(5000)],
        dtype=object,
    )
    au = a.astype(np.uint64)
    for c in [0, 1, p - 1, p - 2, p // 2] + [rng.randrange(p) for _ in range(20)]:
        got = fs._mulmod_scalar(au, c, p).astype(object)
        assert got.tolist() == ((a * c) % p).tolist()


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    p=st.one_of(st.integers(2, 2**64 - 1), st.integers(2**63, 2**64 - 1)),
)
def test_mulmod_scalar_property(data: st.DataObject, p: int) -> None:
    residues = st.integers(0, p - 1)
    a = data.draw(st.lists(residues, min_size=1, max_size=20))
    c = data.draw(residues)
    got = fs._mulmod_scalar(np.array(a, dtype=object).astype(np.uint64), c, p)
    assert got.astype(object).tolist() == [v * c % p for v in a]


def test_recombine_falls_back_for_extension_fields() -> None:
    field = finfields.GF(gfpx.GFpX(2).next_irreducible(2**8 - 1))
    s = field.array([3, 200, 0, 255])
    shares = fs.original_np_random_split(field, s, 1, 3)
    got = fs.np_recombine(field, [(i + 1, shares[i]) for i in range(3)])
    assert list(got.value) == list(s.value)


# --------------------------------------------------------------------------------------------
# install / uninstall
# --------------------------------------------------------------------------------------------


def test_originals_are_mpycs() -> None:
    assert ORIGINAL_SPLIT.__module__ == "mpyc.thresha"
    assert ORIGINAL_RECOMBINE.__module__ == "mpyc.thresha"
    assert ORIGINAL_SPLIT is not fs.np_random_split


def test_install_uninstall_roundtrip() -> None:
    was_installed = fs.installed()
    fs.uninstall()
    assert not fs.installed()
    fs.install()
    fs.install()  # idempotent
    assert fs.installed()
    assert thresha.np_random_split is fs.np_random_split
    assert thresha.np_recombine is fs.np_recombine
    fs.install(recombine=False)
    assert thresha.np_random_split is fs.np_random_split
    assert thresha.np_recombine is ORIGINAL_RECOMBINE
    fs.uninstall()
    fs.uninstall()  # idempotent
    assert not fs.installed()
    assert thresha.np_random_split is ORIGINAL_SPLIT
    assert thresha.np_recombine is ORIGINAL_RECOMBINE
    if was_installed:
        fs.install()


def test_patched_thresha_still_shares_correctly() -> None:
    fs.install()
    p = prime(52)
    field = field_for(p)
    s = np.array([1, 2, p - 1], dtype=object)
    shares = thresha.np_random_split(field, s, 1, 3)
    assert list(thresha.np_recombine(field, [(i + 1, shares[i]) for i in range(3)]).value) == list(
        s
    )


def test_import_does_not_import_mpyc_runtime() -> None:
    """In a fresh interpreter with MPyC-looking argv, importing the module leaves sys.argv alone."""
    code = (
        "import sys; sys.argv = ['x', '-M3', '--no-such-flag']; "
        "import smpc_bench.engine.accel.sharing as f; f.install(); f.uninstall(); "
        "assert 'mpyc.runtime' not in sys.modules, 'mpyc.runtime imported'; "
        "assert sys.argv == ['x', '-M3', '--no-such-flag'], sys.argv"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_mpyc_runtime_looks_thresha_functions_up_at_call_time() -> None:
    """Patching works only if mpyc.runtime uses ``thresha.<name>``, never an early binding."""
    spec = importlib.util.find_spec("mpyc.runtime")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    assert "from mpyc.thresha import" not in source
    for name in ("np_random_split", "np_recombine"):
        uses = re.findall(rf"(\S*){name}\b", source)
        assert uses, name
        assert all(prefix.endswith("thresha.") for prefix in uses), (name, uses)


@pytest.mark.parametrize(("m", "t"), [(3, 1), (5, 2), (7, 3), (12, 5), (31, 6), (15, 7)])
def test_near_word_evaluation_equals_python_ints(m, t):
    """The Vandermonde-by-limbs evaluation for primes just below 2**64 (many parties)."""
    from smpc_bench.engine.accel.sharing import _evaluate_near_word, _uniform_below_u64

    p = 2**64 - 189  # MPyC's prime for SecInt(32)
    n = 300
    coef = _uniform_below_u64(p, (t + 1) * n).reshape(t + 1, n)
    coef[:, :4] = p - 1  # the largest residues
    coef[:, 4] = 0
    got = _evaluate_near_word(coef, m, p)
    assert got is not None and got.dtype == np.uint64
    want = [[sum(int(coef[j, k]) * x**j for j in range(t + 1)) % p for k in range(n)]
            for x in range(1, m + 1)]
    assert got.astype(object).tolist() == want
    assert _evaluate_near_word(coef, m, (1 << 61) - 1) is None  # far from 2**64: not used
