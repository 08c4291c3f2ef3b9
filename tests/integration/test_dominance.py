"""The dominance rule with 3 real party processes: a dominated sum and mean are suppressed.

One firm holds most of the revenue: its sum and mean are withheld, with the reason in every
firm's ``report.json``, while the revenue quantiles and the margin (where no firm dominates,
counting each firm's contribution by its absolute value) are released.
"""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from smpc_bench.cli.common import firm_folder
from smpc_bench.cli.simulate import simulate
from smpc_bench.inputs.consortium import load_config
from smpc_bench.report.build import report_schema

pytestmark = pytest.mark.multiparty

CONFIG = """
[consortium]
name = "dominance round"

[disclosure]
min_contributions = 3
max_firm_share = 0.5

[[kpis]]
name = "revenue"
unit = "EUR"
lower = 0
upper = 2000000
statistics = ["count", "sum", "mean", "median", "q3"]

[[kpis]]
name = "margin"
unit = "%"
lower = -20
upper = 80
decimals = 2
statistics = ["count", "sum", "mean", "median"]

[[kpis]]
name = "rank_only"
lower = 0
upper = 100
statistics = ["count", "q1", "median", "q3"]
"""

#: Firm 0 holds 1.7M of 2M revenue (85%); its margins (+10.5, -5.25) net 5.25 of the
#: magnitudes 5.25 + 6 + 5 (32%); firm 1 holds 6 of a signed sum of 6.25, which a signed
#: share would call dominant, but contributions count by their absolute value.
FIRMS = {
    "firm0.csv": "shop,revenue,margin,rank_only\nA1,900000,10.5,90\nA2,800000,-5.25,95\n",
    "firm1.csv": "shop,revenue,margin,rank_only\nB,200000,6,10\n",
    "firm2.csv": "shop,revenue,margin,rank_only\nC1,100000,-8,20\nC2,,3,30\n",
}


@pytest.fixture(scope="module")
def round_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    folder = tmp_path_factory.mktemp("dominance")
    parties = "".join(f'[[parties]]\nname = "Firm {i}"\ndata = "{name}"\n'
                      for i, name in enumerate(FIRMS))
    (folder / "consortium.toml").write_text(CONFIG + parties, encoding="utf-8")
    for name, text in FIRMS.items():
        (folder / name).write_text(text, encoding="utf-8")
    outcomes = simulate(folder / "consortium.toml", folder, report_root=folder / "reports",
                            timeout=240)
    return folder, outcomes


def test_a_dominated_sum_and_mean_are_suppressed_with_the_reason(round_reports) -> None:
    folder, outcomes = round_reports
    consortium = load_config(folder / "consortium.toml")
    assert all(o["kpis"] == outcomes[0]["kpis"] for o in outcomes), "parties disagree"
    schema = report_schema()
    reports = []
    for i in range(3):
        path = folder / "reports" / firm_folder(i, consortium) / "report.json"
        report = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(report, schema)
        reports.append(report)
    assert all(r["kpis"][k]["statistics"] == reports[0]["kpis"][k]["statistics"]
               for r in reports for k in range(3))
    revenue, margin, rank_only = reports[1]["kpis"]
    assert reports[1]["round"]["max_firm_share"] == 0.5
    assert "no single firm (its shops together) contributes more than 50%" in \
        reports[1]["round"]["disclosure_rule"]

    assert revenue["no_dominant_firm"] is False
    for name in ("sum", "mean"):
        item = revenue["statistics"][name]
        assert item["status"] == "suppressed" and item["value"] is None
        assert "more than 50% of the total (the dominance rule" in item["reason"]
    assert revenue["statistics"]["count"]["value"] == "4"
    assert Fraction(revenue["statistics"]["median"]["value"]) == 500000
    assert revenue["statistics"]["p75"]["status"] == "released"

    assert margin["no_dominant_firm"] is True
    assert Fraction(margin["statistics"]["sum"]["value"]) == Fraction(625, 100)
    assert Fraction(margin["statistics"]["mean"]["value"]) == Fraction(625, 100) / 5

    assert rank_only["no_dominant_firm"] is None  # no sum or mean: not checked, not opened
    assert all(item["status"] == "released" for item in rank_only["statistics"].values())


def test_the_csv_report_and_the_round_outcome_carry_the_verdict(round_reports) -> None:
    folder, outcomes = round_reports
    consortium = load_config(folder / "consortium.toml")
    assert [k["no_dominant_firm"] for k in outcomes[0]["kpis"]] == [False, True, None]
    assert outcomes[0]["max_firm_share"] == "0.5"
    path = folder / "reports" / firm_folder(0, consortium) / "report.csv"
    with path.open(encoding="utf-8") as file:
        rows = [r for r in csv.DictReader(file) if r["scope"] == "industry"]
    suppressed = {(r["kpi"], r["statistic"]) for r in rows if r["status"] == "suppressed"}
    assert suppressed == {("revenue", "sum"), ("revenue", "mean")}
    assert all("dominance rule" in r["note"] for r in rows if r["status"] == "suppressed")
