"""Real party processes with a configured threshold and with interactive randomness (--no-prss).

Every run is checked against the plaintext oracle: the released statistics exactly against the
raw file values (:func:`tests.oracles.released`), and each firm's private ranks against pandas.
See :mod:`smpc_bench.spec.threshold`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from smpc_bench.inputs.consortium import load_config
from smpc_bench.spec import exit_codes
from tests import oracles
from tests.integration.test_ranks_peer import expected_positions, run_round
from tests.partyrun import describe, run_parties

pytestmark = pytest.mark.multiparty

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bakery"
FIRMS = ["alfa", "beta", "gamma", "delta", "epsilon"]


def _consortium(folder: Path, security: str) -> Path:
    text = (EXAMPLE / "consortium.toml").read_text(encoding="utf-8")
    text = text.replace("min_contributions = 5", "min_contributions = 3")
    text = text.replace("[security]\n", f"[security]\n{security}\n")
    path = folder / "consortium.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _round(folder: Path, config: Path, firms: list[str], *flags: str) -> tuple[list[dict],
                                                                               list[dict], str]:
    """Run every firm's party; return the outcomes, the reports and party 0's progress."""
    outputs = [folder / f"out{i}.json" for i in range(len(firms))]
    results = run_parties(
        lambda i: ["-m", "smpc_bench.cli.run", "--config", str(config),
                   "--data", str(EXAMPLE / f"{firms[i]}.csv"), "--json-out", str(outputs[i]),
                   "--report-dir", str(folder / f"report{i}"), *flags],
        len(firms), timeout=120)
    outcomes = [json.loads(p.read_text(encoding="utf-8")) for p in outputs]
    reports = [json.loads((folder / f"report{i}" / "report.json").read_text(encoding="utf-8"))
               for i in range(len(firms))]
    return outcomes, reports, results[0].stderr


def _check(config: Path, firms: list[str], outcomes: list[dict], reports: list[dict]) -> None:
    """Statistics against the oracle on the raw file values (exact), ranks against pandas."""
    consortium = load_config(config)
    assert all(o["kpis"] == outcomes[0]["kpis"] for o in outcomes), "parties disagree"
    for k, kpi in enumerate(consortium.spec.kpis):
        values = [v for firm in firms
                  for v in oracles.file_column(EXAMPLE / f"{firm}.csv", kpi.name, kpi.decimals)]
        released = outcomes[0]["kpis"][k]
        assert released["count"] == len(values)
        for name, item in released["statistics"].items():
            if item["suppressed"]:
                continue
            expected = oracles.released(name, values)
            assert oracles.same_released(item, expected), (kpi.name, name, item, expected)
    frames = [pd.read_csv(EXAMPLE / f"{firm}.csv") for firm in firms]
    everything = pd.concat(frames, ignore_index=True)
    checked = 0
    for k, kpi in enumerate(consortium.spec.kpis):
        column = everything[kpi.name].dropna()
        ranks = column.rank(method="min", ascending=not kpi.higher_is_better)
        start = 0
        for frame, report in zip(frames, reports, strict=True):
            for row, entry in enumerate(report["kpis"][k]["own"]["rows"]):
                if entry["rank"] is not None:  # released KPIs only
                    assert entry["rank"] == int(ranks[start + row]), (kpi.name, row)
                    assert entry["rank_of"] == len(column)
                    checked += 1
            start += len(frame)
    assert checked > 10


def test_configured_threshold_one_of_five_firms(tmp_path: Path) -> None:
    config = _consortium(tmp_path, "threshold = 1")
    outcomes, reports, progress = _round(tmp_path, config, FIRMS)
    assert "withstands up to 1 colluding firm of 5 (threshold 1)" in progress
    assert "randomness pseudorandom (PRSS)" in progress  # C(5, 1) = 5 subsets: cheap
    _check(config, FIRMS, outcomes, reports)


def test_interactive_randomness_default_threshold(tmp_path: Path) -> None:
    firms = FIRMS[:3]
    config = _consortium(tmp_path, "")
    outcomes, reports, progress = _round(tmp_path, config, firms, "--no-prss")
    assert "withstands up to 1 colluding firm of 3" in progress
    assert "randomness interactive (--no-prss)" in progress
    _check(config, firms, outcomes, reports)


@pytest.mark.parametrize("method", ["np-less", "sort"])
def test_positions_with_interactive_randomness(method: str) -> None:
    # np-less draws random bits for MPyC's comparisons; sort agrees on shuffle keys.
    rows = [[12.5, 30], [-3.25, None], [12.5, 45]]
    reports = run_round(rows, "--method", method, "--no-prss")
    expected = expected_positions(rows)
    for party, report in enumerate(reports):
        assert report["positions"] == [[expected[k][party]] for k in range(2)]


@pytest.mark.parametrize("odd_flags", [["-T", "1"], ["--no-prss"]])
def test_parties_with_other_randomness_settings_stop_cleanly(tmp_path: Path,
                                                              odd_flags: list[str]) -> None:
    # Before the keys were held back, MPyC's handshake (PRSS keys sized by each party's own
    # threshold) was misread and every party hung until its overall timeout.
    config = _consortium(tmp_path, "")
    results = run_parties(
        lambda i: ["-m", "smpc_bench.cli.run", "--config", str(config),
                   "--data", str(EXAMPLE / f"{FIRMS[i]}.csv"), "--quiet", "--timeout", "60",
                   *(odd_flags if i == 0 else [])],
        5, timeout=90, check=False)
    # Stopped by the agreement, the mismatch named (below): not by the watchdog (its message at
    # --timeout 60) nor by the outer deadline.
    assert [r.returncode for r in results] == [exit_codes.PEER_REFUSED] * 5, describe(results)
    assert not any(r.timed_out for r in results), describe(results)
    assert not any("did not finish within" in r.stderr for r in results), describe(results)
    # Every party either finds the mismatch itself or first hears of it in another's abort;
    # either way its one line names party 0's settings as the odd ones.
    for result in results:
        assert re.search(r"party 0: parties 1, 2, 3, 4 run MPyC with other settings|"
                         r"party 0 runs MPyC with other settings", result.stderr), \
            describe(results)
