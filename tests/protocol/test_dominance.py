"""The dominance disclosure rule at m=1, in process, against a plaintext oracle.

A KPI's sum and mean are released only if no firm (party; its rows together) contributes more
than ``max_firm_share`` of the KPI's total, a firm's contribution counting by the absolute
value of its total (see :mod:`smpc_bench.spec.disclosure`).  One process plays every firm here: the
secure functions only need the public ``rows_per_party`` to know which rows belong together.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpc_bench.core.disclosure_checks import (
    dominance_inputs,
    secure_dominance_bits,
    secure_no_dominant_firm,
)
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.disclosure import dominance_reason, dominance_verdicts, release_plan
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import RoundSpec
from smpc_bench.spec.sizing import size_for
from tests.oracles import TableData, build_secure_table, table_from_columns

mpc = runtime()

QUARTER = Fraction(1, 4)
REVENUE = KpiSpec("revenue", 0, 1000)
MARGIN = KpiSpec("margin", -50, 80, decimals=2)  # a range across zero
LOSS = KpiSpec("loss", "-3", "-0.5", decimals=1)  # an all-negative range


# --------------------------------------------------------------------------------------------
# The plaintext oracle, written from the definition
# --------------------------------------------------------------------------------------------


def oracle_no_dominant_firm(data: TableData, k: int, rows_per_party: list[int],
                            share: Fraction) -> bool:
    """No firm's |total of accepted values| exceeds ``share`` of the sum of those magnitudes."""
    accepted = data.accepted(k)
    magnitudes = []
    start = 0
    for rows in rows_per_party:
        cells = range(start, start + rows)
        magnitudes.append(abs(sum((data.cell_value(k, i) for i in cells if accepted[i]),
                                  Fraction(0))))
        start += rows
    whole = sum(magnitudes, Fraction(0))
    return all(m <= share * whole for m in magnitudes)


def secure_verdicts(data: TableData, rows_per_party: list[int], share: Fraction) -> list[bool]:
    """Run :func:`secure_no_dominant_firm` on every KPI of ``data`` and open the bits."""
    sizing = size_for(data.specs, sum(rows_per_party), dominance=data.specs,
                      max_firm_share=share)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        bits = secure_no_dominant_firm(*dominance_inputs(table), rows_per_party, data.specs,
                                       share)
        return await mpc.output(bits)

    return [bool(int(b)) for b in mpc.run(body())]


def check_against_oracle(data: TableData, rows_per_party: list[int], share: Fraction
                         ) -> list[bool]:
    verdicts = secure_verdicts(data, rows_per_party, share)
    expected = [oracle_no_dominant_firm(data, k, rows_per_party, share)
                for k in range(len(data.specs))]
    assert verdicts == expected
    return verdicts


# --------------------------------------------------------------------------------------------
# The rule's edges
# --------------------------------------------------------------------------------------------


def test_a_firm_at_exactly_the_share_passes_and_just_above_fails():
    at_share = table_from_columns([REVENUE] * 2, [[250, 250, 250, 250], [100, 300, 300, 300]])
    assert check_against_oracle(at_share, [1, 1, 1, 1], QUARTER) == [True, False]
    # 251 of 1000 is just above a quarter; 250 of 999 just above too (250 * 4 > 999).
    above = table_from_columns([REVENUE] * 2, [[251, 250, 250, 249], [250, 250, 250, 249]])
    assert check_against_oracle(above, [1, 1, 1, 1], QUARTER) == [False, False]


def test_a_firms_rows_count_together():
    # Every shop holds 1/7 of the total, but firm 0's three shops together hold 3/7.
    data = table_from_columns([REVENUE], [[100] * 7])
    assert check_against_oracle(data, [3, 1, 1, 1, 1], QUARTER) == [False]
    assert check_against_oracle(data, [1] * 7, QUARTER) == [True]
    assert check_against_oracle(data, [3, 1, 1, 1, 1], Fraction(3, 7)) == [True]


def test_missing_and_rejected_cells_do_not_count():
    # Firm 0 enters three shops, but two are empty and the third's value is rejected inside
    # the MPC (smuggled past its own range check): it contributes nothing.
    columns = [[None, 999, None, 300, 300, 300, 300]]
    data = table_from_columns([REVENUE], columns, smuggled={(0, 1): 1023})
    assert data.counts() == [4]
    assert check_against_oracle(data, [3, 1, 1, 1, 1], QUARTER) == [True]
    # The same without the smuggled cell: firm 0's 999 dominates.
    honest = table_from_columns([REVENUE], columns)
    assert check_against_oracle(honest, [3, 1, 1, 1, 1], QUARTER) == [False]


def test_negative_values_count_by_their_absolute_firm_total():
    # Margin: firm 0 at -50 against four firms at +10: the sum is -10, the magnitudes 50 of 90.
    # Loss (all negative): equal firms pass, a firm with twice the others' loss fails.
    data = table_from_columns([MARGIN, LOSS, MARGIN],
                              [[-50, 10, 10, 10, 10], [-1, -1, -1, -1, -1],
                               [-20, 20, -20, 20, 0]])
    assert check_against_oracle(data, [1, 1, 1, 1, 1], QUARTER) == [False, True, True]
    loss = table_from_columns([LOSS], [[-2, -1, -1, -1, -1]])
    assert check_against_oracle(loss, [1, 1, 1, 1, 1], QUARTER) == [False]
    # A firm whose shops cancel out contributes nothing: +50 and -50 make 0.
    cancelling = table_from_columns([MARGIN], [[50, -50, 10, 10, 10, 10]])
    assert check_against_oracle(cancelling, [2, 1, 1, 1, 1], QUARTER) == [True]


def test_an_all_zero_total_passes_and_a_lone_firm_fails():
    zeros = table_from_columns([REVENUE], [[0, 0, 0, 0]])
    assert check_against_oracle(zeros, [2, 1, 1], QUARTER) == [True]
    alone = table_from_columns([REVENUE], [[5, 7, None]])
    assert check_against_oracle(alone, [3], QUARTER) == [False]
    assert check_against_oracle(alone, [2, 1], QUARTER) == [False]  # 12 of 12


@pytest.mark.parametrize("share", [Fraction(1, 4), Fraction(9999, 10000), Fraction(1, 10000)])
def test_extreme_values_do_not_wrap(share):
    """n rows at the bounds of the widest KPIs the spec allows, lower bounds far from zero."""
    wide = KpiSpec("wide", 0, 2**48 - 1)
    far = KpiSpec("far", -(10**15), -(10**15) + 1000)
    across = KpiSpec("across", -(2**47), 2**47 - 1)
    rows = 40
    columns = [[2**48 - 1] * rows, [-(10**15)] * rows, [2**47 - 1] * (rows - 1) + [-(2**47)]]
    data = table_from_columns([wide, far, across], columns)
    assert check_against_oracle(data, [rows], share) == [False, False, False]
    assert check_against_oracle(data, [1] * rows, share) == [share >= Fraction(1, rows)] * 3
    big_firm = Fraction(rows - 1, rows)  # at most: "across" has one row at the other end
    assert check_against_oracle(data, [rows - 1, 1], share) == [share >= big_firm] * 3


@st.composite
def property_cases(draw: st.DrawFn) -> tuple[TableData, list[int], Fraction]:
    rows_per_party = draw(st.lists(st.integers(0, 3), min_size=1, max_size=6))
    if sum(rows_per_party) == 0:
        rows_per_party[0] = 1
    n = sum(rows_per_party)
    specs = [REVENUE, MARGIN, LOSS]
    columns = []
    for spec in specs:
        low, high = spec.lower_units, spec.lower_units + spec.span
        cell = st.one_of(st.none(), st.integers(low, high).map(lambda u, s=spec: Fraction(
            u, s.scale)), st.sampled_from([Fraction(low, spec.scale), Fraction(0)
                                           if low <= 0 <= high else Fraction(high, spec.scale)]))
        columns.append([None if v is None else str(float(v)) if v.denominator != 1 else int(v)
                        for v in draw(st.lists(cell, min_size=n, max_size=n))])
    share = draw(st.sampled_from([Fraction(1, 4), Fraction(1, 3), Fraction(1, 2),
                                  Fraction(3333, 10000), Fraction(1)]))
    return table_from_columns(specs, columns), rows_per_party, share


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=property_cases())
def test_random_tables_match_the_oracle(case):
    data, rows_per_party, share = case
    check_against_oracle(data, rows_per_party, share)


def test_a_too_narrow_secure_type_is_refused():
    data = table_from_columns([KpiSpec("wide", 0, 2**48 - 1)], [[1, 2]])
    narrow = size_for(data.specs, 2, moments=False)  # sized without the rule

    async def body() -> Any:
        table = build_secure_table(data, narrow)
        secure_no_dominant_firm(table.valid, table.values, [1, 1], data.specs, QUARTER)

    with pytest.raises(ValueError, match="dominance comparison needs"):
        mpc.run(body())


# --------------------------------------------------------------------------------------------
# Within a round: which KPIs are checked, what is opened, what is withheld
# --------------------------------------------------------------------------------------------

Q3 = Metric.percentile(75)
SPEC = RoundSpec.create(
    "dominance test",
    [REVENUE, MARGIN, KpiSpec("rank_only", 0, 100)],
    [(Metric.COUNT, Metric.SUM, Metric.MEDIAN), (Metric.MEAN, Metric.STDEV),
     (Metric.COUNT, Metric.MEDIAN, Q3)],
    min_contributions=3, max_firm_share=QUARTER)


def round_bits(data: TableData, rows_per_party: list[int], enough: list[int],
               spec: RoundSpec = SPEC) -> list[int]:
    """The dominance bits a round opens, given the contributors rule's bits."""
    checked = [spec.kpis[k] for k in spec.dominance_kpis]
    sizing = size_for(spec.kpis, sum(rows_per_party), dominance=checked,
                      max_firm_share=spec.max_firm_share)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        secure_enough = table.sectype.array(np.array(enough, dtype=np.int64))
        bits = secure_dominance_bits(table, rows_per_party, spec, secure_enough)
        return None if bits is None else [int(b) for b in await mpc.output(bits)]

    return mpc.run(body())


def bakery_like(seed: int, dominated: bool, missing: bool = False) -> TableData:
    """Five firms' rows (2, 1, 1, 1, 1); firm 0 dominates every KPI or none."""
    rng = random.Random(seed)
    columns = []
    for spec in SPEC.kpis:
        low = max(spec.lower_units // spec.scale, 1)
        top = (spec.lower_units + spec.span) // spec.scale
        column: list[object] = [rng.randint(low, top) for _ in range(6)]
        if dominated:
            column[:2] = [top, top]
            column[2:] = [low] * 4
        if missing:
            column[rng.randrange(6)] = None
        columns.append(column)
    return table_from_columns(SPEC.kpis, columns)


def test_only_kpis_releasing_a_sum_or_mean_are_checked():
    assert SPEC.dominance_kpis == (0, 1)
    off = RoundSpec.create("off", SPEC.kpis, SPEC.metrics, max_firm_share=1)
    assert off.dominance_kpis == ()
    data = bakery_like(1, dominated=True)
    assert round_bits(data, [2, 1, 1, 1, 1], [1, 1, 1]) == [0, 0]
    assert round_bits(data, [2, 1, 1, 1, 1], [1, 1, 1], off) is None


def test_a_failing_contributors_rule_hides_the_dominance_verdict():
    data = bakery_like(2, dominated=True)
    assert round_bits(data, [2, 1, 1, 1, 1], [0, 1, 1]) == [1, 0]
    assert dominance_verdicts(SPEC, [1, 0], [False, True, True]) == [None, False, None]


def test_release_plan_withholds_only_sum_and_mean():
    counts = [6, 6, 6]
    rows, suppressed = release_plan(SPEC, counts, [True, True, True], [False, True, None])
    assert rows[Metric.SUM] == [] and rows[Metric.MEAN] == [1]
    assert rows[Metric.MEDIAN] == [0, 2] and rows[Q3] == [2]
    assert suppressed == {("revenue", "sum"): dominance_reason(QUARTER)}
    assert "more than 25% of the total" in suppressed[("revenue", "sum")]
    # The contributors rule comes first and gives its own reason.
    _, suppressed = release_plan(SPEC, counts, [False, True, True], [None, False, None])
    assert "firms contributed" in suppressed[("revenue", "sum")]
    assert suppressed[("margin", "mean")] == dominance_reason(QUARTER)
    assert ("margin", "stdev") not in suppressed


def test_openings_do_not_depend_on_the_data():
    cases = {
        "dominated": (bakery_like(3, dominated=True), [1, 1, 1]),
        "balanced": (bakery_like(4, dominated=False), [1, 1, 1]),
        "missing cells": (bakery_like(5, dominated=False, missing=True), [1, 1, 1]),
        "contributors rule fails": (bakery_like(6, dominated=True), [0, 0, 1]),
        "all zero": (table_from_columns(SPEC.kpis, [[0] * 6] * 3), [1, 1, 1]),
    }
    signatures = {}
    for name, (data, enough) in cases.items():
        with record_openings() as log:
            bits = round_bits(data, [2, 1, 1, 1, 1], enough)
        signatures[name] = log.signature()
        assert len(bits) == 2, name
    assert len(set(signatures.values())) == 1, signatures
    # Besides the masked openings inside the comparison, exactly one declared output: the
    # (2,) bits, one per checked KPI.
    assert sum(1 for o in signatures["dominated"] if o.shape == (2,)) == 1
