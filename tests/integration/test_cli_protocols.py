"""The thin MPyC programs in protocols/, each run as 3 real party processes."""

from __future__ import annotations

import json
import statistics
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from smpc_bench.inputs.consortium import load_config
from smpc_bench.inputs.firm_data import read_table, rows_from_frame
from smpc_bench.report.build import report_schema
from tests.partyrun import run_parties

pytestmark = pytest.mark.multiparty

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bakery"
FIRMS = ["alfa", "beta", "gamma"]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("protocols") / "consortium.toml"
    text = (EXAMPLE / "consortium.toml").read_text(encoding="utf-8")
    # These tests check the programs' arithmetic: Alfa would dominate every total of three
    # firms, so the dominance rule is off here (tests/integration/test_dominance.py has it on).
    text = text.replace("max_firm_share = 0.25", "max_firm_share = 1")
    path.write_text(text.replace("min_contributions = 5", "min_contributions = 3"),
                    encoding="utf-8")
    return path


def _values(config: Path, kpi_index: int) -> list[Fraction]:
    kpis = load_config(config).spec.kpis
    rows = [row for firm in FIRMS
            for row in rows_from_frame(read_table(EXAMPLE / f"{firm}.csv"), kpis)]
    return [kpis[kpi_index].rounded(row[kpi_index]) for row in rows if row[kpi_index] is not None]


def _run(program: str, config: Path, *extra: str) -> list[dict]:
    results = run_parties(
        lambda i: [str(ROOT / "protocols" / program), *extra, "--config", str(config),
                   "--data", str(EXAMPLE / f"{FIRMS[i]}.csv"), "--json"], 3, timeout=120)
    return [json.loads(r.stdout) for r in results]


def test_secure_sum_and_mean(config: Path) -> None:
    revenue = _values(config, 0)
    summed = _run("secure_sum.py", config)
    assert all(r["kpis"][0]["statistics"].keys() == {"count", "sum"} for r in summed)
    assert Fraction(summed[2]["kpis"][0]["statistics"]["sum"]["value"]) == sum(revenue)
    mean = _run("secure_mean.py", config)[1]["kpis"][0]["statistics"]["mean"]["value"]
    assert Fraction(mean) == statistics.mean(revenue)


def test_secure_percentile(config: Path) -> None:
    margin = _values(config, 1)
    reports = _run("secure_percentile.py", config, "--percentile", "25", "--percentile", "90",
                   "--method", "exclusive")
    released = reports[0]["kpis"][1]["statistics"]
    assert set(released) == {"count", "p25:exclusive", "p90:exclusive"}
    cuts = statistics.quantiles(margin, n=100, method="exclusive")
    assert Fraction(released["p25:exclusive"]["value"]) == cuts[24]
    # Beyond the data (6 values: position 6.3), 'exclusive' extrapolates like Python does.
    assert Fraction(released["p90:exclusive"]["value"]) == cuts[89]


def test_industry_report_writes_the_firms_report(config: Path, tmp_path: Path) -> None:
    results = run_parties(
        lambda i: [str(ROOT / "protocols" / "industry_report.py"), "--config", str(config),
                   "--data", str(EXAMPLE / f"{FIRMS[i]}.csv"), "--quiet",
                   "--report-dir", str(tmp_path / FIRMS[i])], 3, timeout=120)
    assert all(r.stdout == "" and r.stderr == "" for r in results)  # --quiet
    report = json.loads((tmp_path / "gamma" / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, report_schema())
    assert [e["label"] for e in report["kpis"][0]["own"]["rows"]] == ["Gamma Markt",
                                                                     "Gamma Altstadt"]
    assert (tmp_path / "gamma" / "report.html").is_file()


def test_benchmark_ranks_gives_each_firm_its_own_position(config: Path) -> None:
    reports = _run("benchmark_ranks.py", config)
    margin = [r["kpis"][1] for r in reports]
    assert margin[0]["statistics"] == margin[2]["statistics"]  # public part: identical
    beta = margin[1]["own"]["rows"]
    assert [e["value"] for e in beta] == ["55.3"]  # each firm sees only its own rows
    assert beta[0]["gaps"]["median"]["position"] == "below"
    # Lowest margin of 6: rank 6 (higher is better), percentile (0 + 1/2) / 6, band 1.
    assert (beta[0]["rank"], beta[0]["rank_of"], beta[0]["percentile"]) == (6, 6, "25/3")
    assert beta[0]["band"] == 1 and beta[0]["band_basis"] == "secure computation"
    assert margin[1]["own"]["unavailable"] == {}
    # Each process holds only its own firm's positions.
    assert [e["rank"] for e in margin[0]["own"]["rows"]] == [2, 5, 1]
