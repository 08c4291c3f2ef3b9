"""Real multi-party runs of a statistics round: every party process against the plaintext answer."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest

from smpc_bench.inputs.consortium import load_config
from smpc_bench.spec import exit_codes
from tests import oracles
from tests.partyrun import describe, run_parties

pytestmark = pytest.mark.multiparty

CONFIG = """
[consortium]
name = "generated consortium"

[disclosure]
min_contributions = {min_contributions}
max_firm_share = 0.5

[[kpis]]
name = "revenue"
unit = "EUR"
lower = -20000
upper = 3000000
decimals = 0
statistics = ["count", "sum", "mean", "stdev", "min", "q1", "median", "q3", "max"]

[[kpis]]
name = "margin"
unit = "%"
lower = -50
upper = 100
decimals = 2
statistics = ["count", "mean", "variance", "p10", "median", "p90", "p90:nearest-rank",
              "q1:exclusive", "q3:exclusive", "p50:lower", "p50:higher", "p50:midpoint"]
"""


def _write_consortium(folder: Path, rows_per_party: list[list[list[object]]],
                      min_contributions: int = 3) -> list[Path]:
    (folder / "consortium.toml").write_text(
        CONFIG.format(min_contributions=min_contributions), encoding="utf-8")
    files = []
    for i, rows in enumerate(rows_per_party):
        path = folder / f"firm{i}.csv"
        lines = ["revenue,margin"] + [
            ",".join("" if cell is None else str(cell) for cell in row) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def _run(folder: Path, files: list[Path], timeout: float = 240) -> list[dict]:
    outputs = [folder / f"out{i}.json" for i in range(len(files))]
    run_parties(
        lambda i: ["-m", "smpc_bench.cli.run", "--config", str(folder / "consortium.toml"),
                   "--data", str(files[i]), "--json-out", str(outputs[i])],
        len(files), timeout=timeout)
    return [json.loads(p.read_text(encoding="utf-8")) for p in outputs]


def _dominated(per_firm: list[list[Fraction]], share: Fraction) -> bool:
    """The dominance rule's oracle: some |firm total| above ``share`` of all |firm totals|."""
    magnitudes = [abs(sum(values, Fraction(0))) for values in per_firm]
    return any(m > share * sum(magnitudes) for m in magnitudes)


def _check_against_plaintext(folder: Path, files: list[Path], outcomes: list[dict]) -> None:
    """Every released statistic against the oracle on the raw file values, exactly."""
    spec = load_config(folder / "consortium.toml").spec  # names, decimals, disclosure settings
    assert all(o["kpis"] == outcomes[0]["kpis"] for o in outcomes), "parties disagree"
    for k, kpi in enumerate(spec.kpis):
        per_firm = [oracles.file_column(f, kpi.name, kpi.decimals) for f in files]
        values = [v for firm in per_firm for v in firm]
        enough = sum(1 for firm in per_firm if firm) >= spec.min_contributions
        dominated = enough and _dominated(per_firm, spec.max_firm_share)
        released = outcomes[0]["kpis"][k]
        assert released["count"] == len(values)
        assert released["no_dominant_firm"] == (
            not dominated if enough and k in spec.dominance_kpis else None)
        for name, item in released["statistics"].items():
            withheld = name != "count" and (
                not enough or (dominated and name in ("sum", "mean")))
            assert bool(item["suppressed"]) == withheld, (kpi.name, name)
            if item["suppressed"]:
                continue
            expected = oracles.released(name, values)
            assert oracles.same_released(item, expected), (kpi.name, name, item, expected)


def _random_rows(rng: random.Random, count: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for _ in range(count):
        revenue: object = rng.choice([rng.randint(-20000, 3000000), 150000, 150000])
        margin: object = round(rng.uniform(-50, 100), 2) if rng.random() > 0.15 else None
        rows.append([revenue, margin])
    return rows


@pytest.mark.parametrize("parties", [3, 5])
def test_generated_consortium_matches_plaintext(tmp_path: Path, parties: int) -> None:
    rng = random.Random(parties)
    rows = [_random_rows(rng, rng.randint(1, 4)) for _ in range(parties)]
    files = _write_consortium(tmp_path, rows)
    outcomes = _run(tmp_path, files)
    _check_against_plaintext(tmp_path, files, outcomes)
    assert [o["party"] for o in outcomes] == list(range(parties))


def test_bakery_example_three_firms_matches_plaintext(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "bakery"
    files = [example / name for name in ("alfa.csv", "gamma.csv", "delta.csv")]
    text = (example / "consortium.toml").read_text(encoding="utf-8")
    (tmp_path / "consortium.toml").write_text(
        text.replace("min_contributions = 5", "min_contributions = 3"), encoding="utf-8")
    outcomes = _run(tmp_path, files)
    _check_against_plaintext(tmp_path, files, outcomes)


def test_small_counts_are_suppressed_not_opened(tmp_path: Path) -> None:
    rows = [[[100, 1.5]], [[200, None]], [[300, None]]]
    files = _write_consortium(tmp_path, rows, min_contributions=3)
    outcomes = _run(tmp_path, files)
    margin = outcomes[0]["kpis"][1]
    assert margin["count"] == 1
    for name, item in margin["statistics"].items():
        if name != "count":
            assert item["value"] is None and "at least 3" in item["suppressed"]
    revenue = outcomes[0]["kpis"][0]["statistics"]
    assert Fraction(revenue["median"]["value"]) == 200


def test_mismatched_config_stops_every_party_naming_the_odd_one(tmp_path: Path) -> None:
    rows = [[[100, 1.5]], [[200, 2.5]], [[300, 3.5]]]
    files = _write_consortium(tmp_path, rows)
    other = tmp_path / "other.toml"
    other.write_text(CONFIG.format(min_contributions=4), encoding="utf-8")
    results = run_parties(
        lambda i: ["-m", "smpc_bench.cli.run",
                   "--config", str(other if i == 2 else tmp_path / "consortium.toml"),
                   "--data", str(files[i]), "--connect-timeout", "20"],
        3, timeout=120, check=False)
    # Party 2 is refused on connect (before MPyC unpickles anything) and every party stops:
    # refused (6), lost (4) if it reached a party on its way out, or at its connect timeout (1)
    # if it started after the others had stopped.
    codes = [r.returncode for r in results]
    assert set(codes) <= {exit_codes.PEER_REFUSED, exit_codes.PARTY_LOST, exit_codes.ERROR}
    assert codes[2] == exit_codes.PEER_REFUSED, describe(results)
    assert any("the round spec of party 2 differs from ours" in r.stderr
               for r in results[:2]), describe(results)
    assert "the round spec of party" in results[2].stderr


def test_two_parties_are_refused_before_any_data_moves(tmp_path: Path) -> None:
    rows = [[[100, 1.5]], [[200, 2.5]]]
    files = _write_consortium(tmp_path, rows)
    results = run_parties(
        lambda i: ["-m", "smpc_bench.cli.run", "--config", str(tmp_path / "consortium.toml"),
                   "--data", str(files[i])],
        2, timeout=60, check=False)
    for result in results:
        assert result.returncode == 1
        assert "2 parties are refused" in result.stderr
        assert "no secrecy" in result.stderr


def test_bad_csv_is_rejected_before_mpc_with_a_clear_message(tmp_path: Path) -> None:
    rows = [[[100, 1.5]], [[200, 2.5]], [["lots", 3.5]]]
    files = _write_consortium(tmp_path, rows)
    results = run_parties(
        lambda i: ["-m", "smpc_bench.cli.run", "--config", str(tmp_path / "consortium.toml"),
                   "--data", str(files[i]), "--connect-timeout", "10"],
        3, timeout=90, check=False)
    assert results[2].returncode == exit_codes.BAD_INPUT
    assert "line 2" in results[2].stderr and "'revenue'" in results[2].stderr
    assert "not a number" in results[2].stderr
    # The others find nobody at the third address and stop with a timeout, not a hang.
    for result in results[:2]:
        assert result.returncode == exit_codes.PARTY_LOST
        assert "no answer from the other parties" in result.stderr
