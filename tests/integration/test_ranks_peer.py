"""Peer mode with real party processes: every firm gets its own position, and nothing else."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smpc_bench.spec.kpi import KpiSpec
from tests.partyrun import describe, run_parties

pytestmark = pytest.mark.multiparty

PROGRAM = Path(__file__).parent / "programs" / "ranks_peer.py"
KPIS = ["margin:-50:80:2:higher", "days:0:365:0:lower"]
SPECS = [KpiSpec("margin", -50, 80, 2, higher_is_better=True),
         KpiSpec("days", 0, 365, 0, higher_is_better=False)]


def expected_positions(rows: list[list[Any]], bands: int = 4) -> list[list[dict[str, Any] | None]]:
    """Per KPI, per row: the oracle's position (pandas rank 'min', percentileofscore 'mean')."""
    result = []
    for k, spec in enumerate(SPECS):
        cells = [row[k] for row in rows]
        values = [spec.rounded(c) for c in cells if c is not None]
        ranks = pd.Series([float(v) for v in values]).rank(
            method="min", ascending=not spec.higher_is_better).astype(int).tolist()
        per_row: list[dict[str, Any] | None] = []
        position = 0
        for cell in cells:
            if cell is None:
                per_row.append(None)
                continue
            value = spec.rounded(cell)
            below = sum(v < value for v in values)
            equal = sum(v == value for v in values)
            percentile = Fraction(100 * (2 * below + equal), 2 * len(values))
            per_row.append({"rank": ranks[position], "of": len(values),
                            "band": 1 + int(bands * percentile // 100),
                            "percentile": str(percentile)})
            position += 1
        result.append(per_row)
    return result


def run_round(rows: list[list[Any]], *flags: str, timeout: float = 120) -> list[dict[str, Any]]:
    kpi_flags = [arg for kpi in KPIS for arg in ("--kpi", kpi)]
    results = run_parties(
        lambda i: [str(PROGRAM), "--values", json.dumps(rows[i]), *kpi_flags, *flags],
        len(rows), timeout=timeout)
    reports = []
    for result in results:
        lines = result.stdout.strip().splitlines()
        assert len(lines) == 1, describe(results)  # one JSON line: what this party received
        reports.append(json.loads(lines[0]))
    return reports


@pytest.mark.parametrize("method", ["all-pairs", "sort"])
def test_three_firms_each_learn_exactly_their_own_position(method: str) -> None:
    rows = [[12.5, 30], [-3.25, None], [12.5, 45]]
    reports = run_round(rows, "--method", method)
    expected = expected_positions(rows)
    for party, report in enumerate(reports):
        assert report["party"] == party
        assert report["counts"] == [3, 2]
        assert report["positions"] == [[expected[k][party]] for k in range(len(SPECS))]


def test_five_firms_with_ties_missing_values_and_an_outlier_secret_counts() -> None:
    rows = [[10, 5], [10, 5], [79.99, None], [None, 364], [10, 6]]
    reports = run_round(rows, "--secret-counts", "--method", "np-less", "--bands", "10")
    expected = expected_positions(rows, bands=10)
    for party, report in enumerate(reports):
        assert report["counts"] is None
        assert report["positions"] == [[expected[k][party]] for k in range(len(SPECS))]


def test_no_firm_output_contains_another_firms_position() -> None:
    # Distinct values, and a different count per KPI: every firm's position record differs
    # from every other firm's, in every KPI, so a leaked record would show up verbatim.
    rows = [[1.5, 10], [7.25, 3], [-20, 200], [55, 42], [30.5, None]]
    results = run_parties(
        lambda i: [str(PROGRAM), "--values", json.dumps(rows[i]),
                   *[arg for kpi in KPIS for arg in ("--kpi", kpi)]],
        len(rows), timeout=120)
    expected = expected_positions(rows)
    snippets = {(k, other): json.dumps(expected[k][other])
                for k in range(len(SPECS)) for other in range(len(rows))
                if expected[k][other] is not None}
    assert len(set(snippets.values())) == len(snippets)
    for party, result in enumerate(results):
        printed = result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["positions"] == [[expected[k][party]] for k in range(len(SPECS))]
        for (k, other), snippet in snippets.items():
            assert (snippet in printed) == (other == party), (party, other, k)


def test_coarsened_round_releases_only_bands() -> None:
    rows = [[1, 1], [2, 2], [3, 3]]
    reports = run_round(rows, "--bands-only")
    expected = expected_positions(rows)
    for party, report in enumerate(reports):
        for k in range(len(SPECS)):
            (position,) = report["positions"][k]
            assert position == {"rank": None, "of": 3, "band": expected[k][party]["band"],
                                "percentile": None}


def test_the_opened_shapes_do_not_depend_on_the_data() -> None:
    first = run_round([[1, 1], [2, 2], [3, 3]], "--signature", "--secret-counts")
    second = run_round([[5, None], [5, 300], [None, 300]], "--signature", "--secret-counts")
    signatures = {json.dumps(report["signature"]) for report in first + second}
    assert len(signatures) == 1  # every party, either data: the same openings in the same order
    deliveries = [opening for opening in first[0]["signature"] if opening[3] is not None]
    assert [opening[3] for opening in deliveries] == [[0], [1], [2]]  # one firm each
