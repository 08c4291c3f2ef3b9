"""The disclosure rules per group of owners (outsourced rounds) at m=1, against the oracle.

``grouped=True`` evaluates the contributors rule and the dominance rule per group of owners
with equal row counts, without a loop over owners and without a dense membership matrix: the
verdicts must be those of the definition (and of the per-owner form peer rounds use), for
single-row contributors, mixed row counts, owners without rows, missing and rejected cells.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from smpc_bench.core.disclosure_checks import (
    dominance_inputs,
    owner_groups,
    secure_enough_contributors,
    secure_no_dominant_firm,
)
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for
from tests.oracles import TableData, build_secure_table, table_from_columns

mpc = runtime()

REVENUE = KpiSpec("revenue", 0, 1000)
MARGIN = KpiSpec("margin", -50, 80, decimals=2)  # a range across zero
LOSS = KpiSpec("loss", "-3", "-0.5", decimals=1)  # an all-negative range
SPECS = (REVENUE, MARGIN, LOSS)


def _owners(rows_per_party: list[int]) -> list[range]:
    starts = np.cumsum([0, *rows_per_party])
    return [range(int(starts[f]), int(starts[f + 1])) for f in range(len(rows_per_party))]


def oracle_enough(data: TableData, k: int, rows_per_party: list[int], minimum: int) -> bool:
    accepted = data.accepted(k)
    return sum(any(accepted[i] for i in cells) for cells in _owners(rows_per_party)) >= minimum


def oracle_no_dominant_firm(data: TableData, k: int, rows_per_party: list[int],
                            share: Fraction) -> bool:
    spec, accepted = data.specs[k], data.accepted(k)
    magnitudes = [abs(sum((spec.decode(int(data.offsets[k, i])) for i in cells if accepted[i]),
                          Fraction(0))) for cells in _owners(rows_per_party)]
    whole = sum(magnitudes, Fraction(0))
    return all(m <= share * whole for m in magnitudes)


def secure_rules(data: TableData, rows_per_party: list[int], minimum: int, share: Fraction,
                 *, grouped: bool) -> tuple[list[bool], list[bool]]:
    sizing = size_for(data.specs, sum(rows_per_party), dominance=data.specs,
                      max_firm_share=share)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        enough = secure_enough_contributors(table.valid, rows_per_party, minimum,
                                            grouped=grouped)
        dominance = secure_no_dominant_firm(*dominance_inputs(table), rows_per_party,
                                            data.specs, share, grouped=grouped)
        return await mpc.output(enough), await mpc.output(dominance)

    enough, dominance = mpc.run(body())
    return [bool(int(b)) for b in enough], [bool(int(b)) for b in dominance]


def _random_table(rng: random.Random, rows: int) -> TableData:
    columns: list[list[object]] = []
    for spec in SPECS:
        low, high = spec.decode(0), spec.decode(spec.span)
        column: list[object] = []
        for _ in range(rows):
            if rng.random() < 0.2:
                column.append(None)
            else:
                column.append(low + (high - low) * Fraction(rng.randrange(0, 101), 100))
        columns.append(column)
    smuggled = {(0, i): 1023 for i in range(rows) if rng.random() < 0.05 and columns[0][i]
                is not None}
    return table_from_columns(SPECS, columns, smuggled=smuggled)


def test_owner_groups_name_every_owners_rows() -> None:
    groups = dict(owner_groups([2, 1, 0, 3, 1, 2]))
    assert sorted(groups) == [1, 2, 3]
    assert groups[1].tolist() == [[2], [6]]
    assert groups[2].tolist() == [[0, 1], [7, 8]]
    assert groups[3].tolist() == [[3, 4, 5]]


@pytest.mark.parametrize("layout", ["single", "mixed"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_rules_agree_with_the_definition_and_with_peer_mode(layout: str, seed: int
                                                                    ) -> None:
    rng = random.Random(seed * 10 + (layout == "mixed"))
    if layout == "single":
        rows_per_party = [1] * rng.randrange(3, 40)
    else:
        rows_per_party = [rng.choice([0, 1, 1, 2, 3]) for _ in range(rng.randrange(4, 25))]
        rows_per_party[0] = max(rows_per_party[0], 1)
    data = _random_table(rng, sum(rows_per_party))
    minimum = rng.choice([3, 5, 8])
    share = rng.choice([Fraction(1, 4), Fraction(1, 2), Fraction(9, 10)])
    grouped = secure_rules(data, rows_per_party, minimum, share, grouped=True)
    expected = ([oracle_enough(data, k, rows_per_party, minimum) for k in range(len(SPECS))],
                [oracle_no_dominant_firm(data, k, rows_per_party, share)
                 for k in range(len(SPECS))])
    assert grouped == expected
    assert secure_rules(data, rows_per_party, minimum, share, grouped=False) == expected


def test_one_dominant_contributor_among_many_single_rows_fails() -> None:
    values = [10] * 30 + [1000]  # 1000 of 1300 is above a half
    data = table_from_columns([REVENUE], [values])
    assert secure_rules(data, [1] * 31, 5, Fraction(1, 2), grouped=True) == ([True], [False])
    assert secure_rules(data, [1] * 31, 40, Fraction(4, 5), grouped=True) == ([False], [True])


def single_row_verdicts(data: TableData, share: Fraction) -> list[bool]:
    """:func:`single_row_dominance_bits` from the walk's extremes, as an outsourced round does."""
    from smpc_bench.core.disclosure_checks import single_row_dominance_bits
    from smpc_bench.core.summarize import summarize
    from smpc_bench.spec.metrics import Metric
    from smpc_bench.spec.round_spec import RoundSpec

    spec = RoundSpec.create("t", data.specs, [(Metric.COUNT, Metric.MEAN)] * len(data.specs),
                            max_firm_share=share)
    counts = data.counts()
    sizing = size_for(data.specs, len(data.offsets[0]), dominance=data.specs,
                      max_firm_share=share)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        walked = summarize(table, [Metric.MAX, Metric.MIN], counts=counts)
        bits = single_row_dominance_bits(table, spec, range(len(data.specs)),
                                         walked[Metric.MAX].numerator,
                                         walked[Metric.MIN].numerator, counts)
        return await mpc.output(bits)

    return [bool(int(b)) for b in mpc.run(body())]


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_single_row_dominance_from_the_extremes_agrees_with_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    rows = rng.randrange(5, 30)
    data = _random_table(rng, rows)
    if seed == 7:  # one dominant value per KPI: the rule must fail where it dominates
        data = table_from_columns(SPECS, [[10] * 6 + [1000], [-50] + [1] * 6,
                                          [-3] + ["-0.5"] * 6])
        rows = 7
    share = Fraction(1, 4) if seed == 7 else rng.choice([Fraction(1, 2), Fraction(1, 3)])
    expected = [oracle_no_dominant_firm(data, k, [1] * rows, share) for k in range(len(SPECS))]
    assert single_row_verdicts(data, share) == expected
    if seed == 7:
        assert expected == [False, False, False]
