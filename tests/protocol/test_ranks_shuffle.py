"""The secret shuffle and the shuffle-sort at m=1: permutations, placement, what gets opened."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.positions import shuffle as secure_shuffle
from smpc_bench.positions.shuffle import (
    ShuffleError,
    agree_shuffle_keys,
    apply_secret_permutation,
    derive_permutation,
    shuffle,
    sorted_counts,
)
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for


@pytest.fixture(scope="module")
def mpc() -> Any:
    from smpc_bench.engine import driver

    return driver.runtime()


@contextlib.contextmanager
def opened_values(mpc: Any) -> Iterator[list[Any]]:
    """Capture the *values* of every opening (possible at m=1 only, where they are local)."""
    original = mpc.output
    captured: list[Any] = []

    def capture(x: Any, receivers: Any = None, threshold: Any = None, raw: bool = False) -> Any:
        result = original(x, receivers=receivers, threshold=threshold, raw=raw)
        captured.append(result)
        return result

    mpc.output = capture
    try:
        yield captured
    finally:
        del mpc.output


def test_derived_permutations_are_permutations_fixed_by_seed_and_label() -> None:
    perm = derive_permutation(b"k" * 32, b"0/0", 50)
    assert sorted(perm.tolist()) == list(range(50))
    assert np.array_equal(perm, derive_permutation(b"k" * 32, b"0/0", 50))
    assert not np.array_equal(perm, derive_permutation(b"k" * 32, b"1/0", 50))
    assert not np.array_equal(perm, derive_permutation(b"j" * 32, b"0/0", 50))
    assert derive_permutation(b"k", b"x", 0).tolist() == []
    assert derive_permutation(b"k", b"x", 1).tolist() == [0]


def test_derived_permutations_are_uniform() -> None:
    draws = Counter(tuple(derive_permutation(b"seed", str(i).encode(), 3).tolist())
                    for i in range(6000))
    assert set(draws) == set(itertools.permutations(range(3)))
    # 1000 expected each; 5 standard deviations (about 29 each) either way.
    assert all(850 < count < 1150 for count in draws.values()), draws


def test_rejected_words_are_redrawn_from_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    top = (1 << 64) - 1  # rejected for bound 3: 2**64 % 3 == 1
    words = [top, 5, 7] + [0] * 100
    stream = b"".join(w.to_bytes(8, "little") for w in words)

    class FakeXof:
        def digest(self, size: int) -> bytes:
            return (stream * (1 + size // len(stream)))[:size]

    monkeypatch.setattr(hashlib, "shake_256", lambda data: FakeXof())
    # i = 2: word 2**64-1 rejected, then 5 % 3 = 2 (swap 2 with 2); i = 1: 7 % 2 = 1.
    assert secure_shuffle._picks_with_rejection(FakeXof(), 2, 3) == [2, 1]
    assert derive_permutation(b"s", b"l", 3).tolist() == [0, 1, 2]


def test_shuffle_applies_the_subset_permutation(mpc: Any) -> None:
    sectype = mpc.SecInt(32)
    rows = np.arange(2 * 9 * 3).reshape(2, 9, 3)

    async def go() -> Any:
        keys = await agree_shuffle_keys(seed=b"fixed")
        assert keys.subsets() == [(0,)] and keys.seeds == {(0,): b"fixed"}
        return await mpc.output(shuffle(sectype.array(rows), keys))

    shuffled = mpc.run(go())
    for batch in range(2):
        perm = derive_permutation(b"fixed", f"0/{batch}".encode(), 9)
        assert np.array_equal(np.asarray(shuffled[batch], dtype=np.int64), rows[batch][perm])


def test_rows_move_to_their_secret_destinations(mpc: Any) -> None:
    sectype = mpc.SecInt(32)
    rows = np.array([[[10, 1], [20, 2], [30, 3], [40, 4]]])
    destinations = np.array([[2, 0, 3, 1]])

    async def go(dest: np.ndarray) -> Any:
        keys = await agree_shuffle_keys(seed=b"fixed")
        moved = apply_secret_permutation(sectype.array(rows), sectype.array(dest), keys)
        return await mpc.output(moved)

    moved = np.asarray(mpc.run(go(destinations)), dtype=np.int64)
    assert moved[0].tolist() == [[20, 2], [40, 4], [10, 1], [30, 3]]
    with pytest.raises(ShuffleError, match="not a permutation"):
        mpc.run(go(np.array([[0, 0, 1, 2]])))


def sort_openings(mpc: Any, offsets: np.ndarray, seed: bytes) -> list[np.ndarray]:
    """The opened vectors of one shuffle-sort of one KPI (the row counts as a sanity check)."""
    spec = (KpiSpec("v", 0, 255),)
    sizing = size_for(spec, offsets.shape[1], moments=False)
    sectype = mpc.SecInt(sizing.field_bits)
    valid = np.ones_like(offsets)
    table = SecureTable.from_digits(
        spec, sizing, sectype.array(encode_digits(offsets, sizing.value_bits, 4)),
        sectype.array(valid))

    async def go() -> Any:
        keys = await agree_shuffle_keys(seed=seed)
        below, at_or_below = sorted_counts(table, keys)
        return await mpc.output(below), await mpc.output(at_or_below)

    with opened_values(mpc) as captured:
        below, at_or_below = mpc.run(go())
    values = offsets[0]
    assert [int(b) for b in np.asarray(below)[0]] == [int((values < v).sum()) for v in values]
    assert [int(a) for a in np.asarray(at_or_below)[0]] == [int((values <= v).sum())
                                                           for v in values]
    return [np.asarray(f.result(), dtype=np.int64).reshape(-1) for f in captured[:-2]]


def ascent_share(perm: np.ndarray) -> float:
    return float(np.mean(perm[1:] > perm[:-1]))


def test_sorting_opens_only_uniform_looking_permutations_even_for_ties(mpc: Any) -> None:
    """All-equal values would give identity destinations: the shuffle must hide that."""
    n = 60
    for data in (np.full((1, n), 7), np.arange(n).reshape(1, n), np.zeros((1, n), dtype=int)):
        openings = sort_openings(mpc, data.astype(np.int64), seed=b"ties")
        assert len(openings) == 2 + 1  # 8-bit values: two digit passes, then the way back
        for opened in openings:
            assert sorted(opened.tolist()) == list(range(2 * n))
            # A uniform permutation of 120 has 59.5 +- 3.2 ascents; identity would have 119.
            assert 0.3 < ascent_share(opened) < 0.7


def test_the_sorted_position_of_a_row_varies_with_the_shuffle_seed(mpc: Any) -> None:
    data = np.full((1, 20), 3, dtype=np.int64)
    first_destinations = [int(sort_openings(mpc, data, seed=bytes([s]))[0][0])
                          for s in range(20)]
    # The shuffled row 0's destination is uniform on 0..39: 20 draws give many values.
    assert len(set(first_destinations)) >= 10


def test_fixed_seeds_only_in_local_simulation(mpc: Any) -> None:
    keys = mpc.run(agree_shuffle_keys())
    assert len(keys.seeds[(0,)]) == 32
    assert keys.seeds != mpc.run(agree_shuffle_keys()).seeds  # fresh randomness each time
