"""Private positions at m=1 in process, against a plaintext oracle (pandas rank, scipy).

Every counting protocol (all-pairs on one-hot digits, all-pairs with MPyC's comparison, and
the shuffle-sort) must give exactly the oracle's rank (pandas ``rank(method="min")`` in the
better-first order), percentile (``scipy.stats.percentileofscore(kind="mean")``, exact as a
fraction) and band, with ties, missing values, both KPI directions, public or secret counts.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.costs.openings import record_openings
from smpc_bench.positions.delivery import decode_positions, deliver_to_owners
from smpc_bench.positions.ranks import METHODS, PositionRules, order_counts, position_records
from smpc_bench.positions.shuffle import agree_shuffle_keys
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for

SPECS = (
    KpiSpec("margin", -50, 80, decimals=1, higher_is_better=True),
    KpiSpec("days", 0, 365, higher_is_better=False),
)


@pytest.fixture(scope="module")
def mpc() -> Any:
    from smpc_bench.engine import driver

    return driver.runtime()


def run(mpc: Any, coro: Any) -> Any:
    return mpc.run(coro)


def make_table(mpc: Any, specs: tuple[KpiSpec, ...], offsets: np.ndarray, valid: np.ndarray,
               radix_bits: int = 4) -> SecureTable:
    sizing = size_for(specs, offsets.shape[1], moments=False)
    sectype = mpc.SecInt(sizing.field_bits)
    digits = sectype.array(encode_digits(offsets * valid, sizing.value_bits, radix_bits))
    return SecureTable.from_digits(specs, sizing, digits, sectype.array(valid),
                                   radix_bits=radix_bits)


def oracle(spec: KpiSpec, offsets: np.ndarray, valid: np.ndarray, bands: int
           ) -> list[tuple[int, Fraction, int] | None]:
    """(rank, percentile, band) per row, or None for an invalid cell."""
    values = [int(v) for v, ok in zip(offsets, valid, strict=True) if ok]
    ranks = pd.Series(values, dtype="int64").rank(
        method="min", ascending=not spec.higher_is_better).astype(int).tolist()
    result: list[tuple[int, Fraction, int] | None] = []
    position = 0
    for value, ok in zip(offsets, valid, strict=True):
        if not ok:
            result.append(None)
            continue
        below = sum(v < value for v in values)
        equal = sum(v == value for v in values)
        percentile = Fraction(100 * (2 * below + equal), 2 * len(values))
        assert float(percentile) == pytest.approx(
            stats.percentileofscore(values, int(value), kind="mean"), abs=1e-9)
        band = 1 + int(bands * percentile // 100)
        result.append((ranks[position], percentile, band))
        position += 1
    return result


async def positions_of(table: SecureTable, rules: PositionRules, method: str,
                       counts: list[int] | None, seed: bytes = b"test") -> Any:
    keys = await agree_shuffle_keys(seed=seed) if method == "sort" else None
    records = position_records(table, rules=rules, counts=counts, method=method, keys=keys)
    mine = await deliver_to_owners(records, [0] * table.num_rows)
    return decode_positions(mine, rules)


def check(mpc: Any, specs: tuple[KpiSpec, ...], offsets: np.ndarray, valid: np.ndarray, *,
          method: str, rules: PositionRules, public_counts: bool, radix_bits: int = 4) -> None:
    table = make_table(mpc, specs, offsets, valid, radix_bits)
    counts = [int(c) for c in valid.sum(axis=1)] if public_counts else None
    got = run(mpc, positions_of(table, rules, method, counts))
    for k, spec in enumerate(specs):
        expected = oracle(spec, offsets[k], valid[k], rules.bands)
        for position, want in zip(got[k], expected, strict=True):
            if want is None:
                assert position is None
                continue
            rank, percentile, band = want
            assert position is not None
            assert position.of == int(valid[k].sum())
            assert position.band == band
            if rules.bands_only:
                assert position.rank is None and position.percentile is None
            else:
                assert (position.rank, position.percentile) == (rank, percentile)


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 14))
    spans = [spec.span for spec in SPECS]
    # Few distinct values, so that ties are common.
    offsets = np.stack([rng.choice(rng.integers(0, s + 1, 5), n) for s in spans])
    valid = (rng.random((len(SPECS), n)) < 0.8).astype(np.int64)
    return offsets.astype(np.int64), valid


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(6))
def test_random_tables_match_the_oracle(mpc: Any, method: str, seed: int) -> None:
    offsets, valid = random_case(seed)
    rules = PositionRules(bands=(4, 10)[seed % 2])
    check(mpc, SPECS, offsets, valid, method=method, rules=rules, public_counts=seed % 3 == 0,
          radix_bits=1 + seed % 4)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("bands", "public_counts"), [(4, True), (10, True), (4, False)])
def test_coarsened_release_gives_only_the_band(mpc: Any, method: str, bands: int,
                                               public_counts: bool) -> None:
    offsets, valid = random_case(11)
    check(mpc, SPECS, offsets, valid, method=method,
          rules=PositionRules(bands=bands, bands_only=True), public_counts=public_counts)


@pytest.mark.parametrize("method", METHODS)
def test_all_equal_values_share_rank_one_and_the_middle_percentile(mpc: Any, method: str
                                                                   ) -> None:
    offsets = np.full((2, 7), 42, dtype=np.int64)
    valid = np.ones((2, 7), dtype=np.int64)
    check(mpc, SPECS, offsets, valid, method=method, rules=PositionRules(), public_counts=True)
    table = make_table(mpc, SPECS, offsets, valid)
    got = run(mpc, positions_of(table, PositionRules(), method, None))
    assert {(p.rank, p.percentile, p.band) for row in got for p in row} == {(1, 50, 3)}


@pytest.mark.parametrize("method", METHODS)
def test_single_outlier_and_single_row(mpc: Any, method: str) -> None:
    offsets = np.array([[10, 10, 11, 10, 1299], [0, 365, 1, 2, 3]], dtype=np.int64)
    check(mpc, SPECS, offsets, np.ones_like(offsets), method=method, rules=PositionRules(),
          public_counts=False)
    one = np.array([[5], [7]], dtype=np.int64)
    check(mpc, SPECS, one, np.ones_like(one), method=method, rules=PositionRules(),
          public_counts=True)


@pytest.mark.parametrize("method", METHODS)
def test_missing_cells_get_no_position_and_count_for_nobody(mpc: Any, method: str) -> None:
    offsets = np.array([[3, 900, 3, 5, 0], [10, 10, 20, 0, 30]], dtype=np.int64)
    valid = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=np.int64)
    check(mpc, SPECS, offsets, valid, method=method, rules=PositionRules(), public_counts=True)
    table = make_table(mpc, SPECS, offsets, valid)
    got = run(mpc, positions_of(table, PositionRules(), method, None))
    assert got[1] == [None] * 5
    assert [p.rank if p else None for p in got[0]] == [2, None, 2, 1, None]


def test_out_of_range_cells_are_rejected_in_the_mpc_and_get_no_position(mpc: Any) -> None:
    spec = (KpiSpec("score", 0, 10),)  # 4 bits hold up to 15: 12 is out of range
    offsets = np.array([[12, 3, 10]], dtype=np.int64)
    table = make_table(mpc, spec, offsets, np.ones_like(offsets))
    for method in METHODS:
        got = run(mpc, positions_of(table, PositionRules(), method, None))
        assert got[0][0] is None
        assert [(p.rank, p.of) for p in got[0][1:]] == [(2, 2), (1, 2)]


@pytest.mark.parametrize("method", METHODS)
def test_the_counting_protocols_agree_on_below_and_at_or_below(mpc: Any, method: str) -> None:
    offsets, valid = random_case(3)
    table = make_table(mpc, SPECS, offsets, valid)

    async def counts() -> Any:
        keys = await agree_shuffle_keys(seed=b"x") if method == "sort" else None
        below, at_or_below = order_counts(table, method=method, keys=keys)
        return (await mpc.output(below * table.valid), await mpc.output(at_or_below * table.valid))

    below, at_or_below = run(mpc, counts())
    for k in range(len(SPECS)):
        values = offsets[k][valid[k] == 1]
        for i in range(offsets.shape[1]):
            if valid[k, i]:
                assert below[k, i] == (values < offsets[k, i]).sum()
                assert at_or_below[k, i] == (values <= offsets[k, i]).sum()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bands_only", [False, True])
def test_openings_do_not_depend_on_the_data(mpc: Any, method: str, bands_only: bool) -> None:
    """Same shapes, same receivers, same order, whatever the values and missing cells."""
    rules = PositionRules(bands_only=bands_only)
    signatures = []
    for seed in range(3):
        offsets, valid = random_case(100)  # fixes n; the data below differ
        rng = np.random.default_rng(seed)
        offsets = np.stack([rng.integers(0, s.span + 1, offsets.shape[1]) for s in SPECS])
        valid = (rng.random(offsets.shape) < 0.5 + 0.2 * seed).astype(np.int64)
        if seed == 2:
            offsets[:] = offsets[:, :1]  # all equal
        table = make_table(mpc, SPECS, offsets, valid)
        with record_openings() as log:
            run(mpc, positions_of(table, rules, method, None))
        signatures.append(log.signature())
    assert signatures[0] == signatures[1] == signatures[2]
    assert all(o.receivers in (None, (0,)) for o in signatures[0])


def test_unknown_method_and_missing_keys_are_refused(mpc: Any) -> None:
    offsets, valid = random_case(1)
    table = make_table(mpc, SPECS, offsets, valid)
    with pytest.raises(ValueError, match="unknown method"):
        position_records(table, method="bubble")
    with pytest.raises(ValueError, match="shuffle keys"):
        position_records(table, method="sort")
    with pytest.raises(ValueError, match="bands"):
        PositionRules(bands=5)
    with pytest.raises(ValueError, match="one owner per row"):
        run(mpc, deliver_to_owners(position_records(table), [0]))
    with pytest.raises(ValueError, match="one count per KPI"):
        position_records(table, counts=[1])


def test_definition_names_the_tie_rule_and_the_percentile_kind() -> None:
    text = PositionRules().definition
    assert "min" in text and "kind 'mean'" in text and "quartile" in text
    assert "decile" in PositionRules(bands=10, bands_only=True).definition


def test_importing_the_modules_does_not_import_mpyc() -> None:
    # Importing mpyc parses sys.argv (and sets up logging): leave that to the driver.
    code = ("import sys, smpc_bench.positions.ranks, smpc_bench.positions.shuffle, "
            "smpc_bench.positions.pairwise;"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'mpyc'], sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_property_every_protocol_matches_the_oracle(mpc: Any, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 9), label="n")
    column = st.lists(st.integers(0, 12), min_size=n, max_size=n)  # narrow range: many ties
    offsets = np.array([data.draw(column, label=f"kpi {k}") for k in range(len(SPECS))])
    valid = np.array([data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
                      for _ in SPECS], dtype=np.int64)
    method = data.draw(st.sampled_from(METHODS), label="method")
    rules = PositionRules(bands=data.draw(st.sampled_from([4, 10])),
                          bands_only=data.draw(st.booleans()))
    check(mpc, SPECS, offsets, valid, method=method, rules=rules,
          public_counts=data.draw(st.booleans()), radix_bits=data.draw(st.integers(1, 4)))
