"""The outsourced example runs as a new user would run it, and its results are the right ones.

Runs ``examples/outsourced/run_on_one_machine.py`` with 20 bakeries in a temporary folder (the
real ``smpc-bench`` commands as processes: enrol, certs, keygen, serve, submit, compute,
fetch-result), then checks its summary against an answer computed here from the generated CSV
files with pandas and :mod:`statistics`, and that every server it started is stopped.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import statistics
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.multiparty

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "outsourced" / "run_on_one_machine.py"
CONTRIBUTORS = 20
HIGHER_IS_BETTER = {"revenue": True, "gross_margin": True, "waste_ratio": False}


def _run_example(folder: Path, timeout: float = 900) -> tuple[subprocess.CompletedProcess[str],
                                                               dict[str, Any]]:
    summary = folder / "summary.json"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--contributors", str(CONTRIBUTORS), "--fetch", "4",
         "--json", str(summary)], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the script stops its servers on SIGTERM
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        pytest.fail(f"the example took more than {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")
    run = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert run.returncode == 0, f"{out[-3000:]}\n{err[-3000:]}"
    return run, json.loads(summary.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("outsourced-example")
    run, summary = _run_example(folder)
    return folder, run, summary


def _figures(summary: dict[str, Any]) -> pd.DataFrame:
    """Every generated bakery's row, as text (exact values are made from it below)."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False)
              for path in summary["bakeries"]]
    return pd.concat(frames, ignore_index=True)


def _values(figures: pd.DataFrame, kpi: str) -> list[Fraction]:
    return [Fraction(cell) for cell in figures[kpi] if cell != ""]


def _expected(values: list[Fraction], statistic: str) -> Fraction | float:
    if statistic == "count":
        return Fraction(len(values))
    if statistic == "sum":
        return sum(values, Fraction(0))
    if statistic == "mean":
        return sum(values, Fraction(0)) / len(values)
    if statistic == "stdev":
        return math.sqrt(statistics.variance(values))
    if statistic == "median":
        return statistics.median(values)
    percent = int(statistic.removeprefix("p"))
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def test_the_example_exits_cleanly_in_its_own_work_folder(
        example: tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    folder, run, summary = example
    work = Path(summary["work"])
    assert work == folder / "smpc-bench-outsourced"
    assert summary["contributors"] == CONTRIBUTORS == len(summary["bakeries"])
    assert summary["all_equal"] and summary["servers_agree"]
    assert "DIFFERENT" not in run.stdout and "Traceback" not in run.stderr
    assert "servers stopped" in run.stdout
    # Private keys stay with their owners: the servers' in their own folders, none published.
    published = work / "round"
    assert not [p for p in published.rglob("*.key")]
    for i in range(3):
        assert (work / f"server{i}" / "keys" / f"server{i}.hpke.key").is_file()
        assert (work / f"server{i}" / "mpc" / f"party_{i}.key").is_file()
    # Every intake service it started is stopped: nothing listens on the round's urls.
    config = tomllib.loads((published / "consortium.toml").read_text(encoding="utf-8"))
    for server in config["outsourced"]["servers"]:
        port = int(server["url"].rsplit(":", 1)[1])
        with socket.socket() as probe, pytest.raises(OSError):
            probe.settimeout(2)
            probe.connect(("127.0.0.1", port))


def test_every_released_statistic_equals_pandas_and_statistics(
        example: tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    _, _, summary = example
    figures = _figures(summary)
    assert len(figures) == CONTRIBUTORS
    outcome = summary["outcome"]
    assert outcome["contributors"] == CONTRIBUTORS and outcome["servers"] == 3
    checked = 0
    for kpi in outcome["kpis"]:
        values = _values(figures, kpi["name"])
        assert kpi["count"] == len(values) and kpi["rejected"] == 0
        assert kpi["count"] == int(pd.to_numeric(figures[kpi["name"]]).count())
        for name, item in kpi["statistics"].items():
            assert item["value"] is not None, (kpi["name"], name, item["suppressed"])
            want = _expected(values, name)
            got = float(item["value"]) if name == "stdev" else Fraction(item["value"])
            assert got == want, (kpi["name"], name, got, want)
            assert summary["statistics"][kpi["name"]][name]["released"] == item["value"]
            checked += 1
    assert checked == 17


def test_every_fetched_position_equals_pandas_rank(
        example: tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    _, _, summary = example
    figures = _figures(summary)
    assert len(summary["fetched"]) == 4
    for name, own in summary["fetched"].items():
        (row,) = figures.index[figures["bakery"] == name]
        for kpi, higher in HIGHER_IS_BETTER.items():
            entry = own[kpi]
            if figures.at[row, kpi] == "":
                assert entry["missing"] and entry["rank"] is None
                continue
            column = pd.to_numeric(figures[kpi]).dropna()
            rank = int(column.rank(method="min", ascending=not higher)[row])
            below = int((column < column[row]).sum())
            equal = int((column == column[row]).sum())
            percentile = Fraction(100 * (2 * below + equal), 2 * len(column))
            assert (entry["rank"], entry["rank_of"]) == (rank, len(column)), (name, kpi)
            assert Fraction(entry["percentile"]) == percentile, (name, kpi)
            assert entry["band"] == 1 + int(4 * percentile // 100), (name, kpi)
