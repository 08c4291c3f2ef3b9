"""`smpc-bench` end to end: demo, simulate, check and run with real party processes."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from smpc_bench.cli import main as cli
from smpc_bench.cli.common import firm_folder
from smpc_bench.cli.simulate import simulate
from smpc_bench.engine.local_parties import free_base_port
from smpc_bench.inputs.certificates import make_certificates
from smpc_bench.inputs.consortium import load_config
from smpc_bench.report.build import report_schema
from smpc_bench.spec import exit_codes
from tests import oracles
from tests.partyrun import describe, run_parties

pytestmark = pytest.mark.multiparty

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bakery"
STATISTICS = ["count", "sum", "mean", "stdev", "min", "max", "p10", "q1", "median", "q3", "p90",
              "p50:lower", "p90:higher", "p25:midpoint"]
#: The generated consortium's KPIs: name, lower, upper, decimals, higher is better.
GENERATED_KPIS = (("revenue", 0, 2_000_000, 0, "true"), ("margin", -20, 80, 2, "true"),
                  ("rare", 0, 100, 1, "false"))


def _cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smpc_bench", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def test_demo_runs_the_example_and_writes_valid_reports(tmp_path: Path) -> None:
    result = _cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all parties released identical results: yes" in result.stdout
    assert " NO" not in result.stdout  # every released statistic matches the plaintext
    assert "connecting" in result.stderr and "computing and releasing" in result.stderr
    # Opening hours: Epsilon left it blank, so only 4 of 5 firms contributed: suppressed.
    assert "opening_hours     median             suppressed" in result.stdout
    # Dominance: Alfa's three shops hold more than 25% of every total (44% of revenue), so
    # the revenue sum and every mean are suppressed; quantiles and stdev are not.
    assert "revenue           sum                suppressed" in result.stdout
    assert "gross_margin      mean               suppressed" in result.stdout
    assert "revenue           median                830,000" in result.stdout
    assert "one firm contributes more than 25% of the total (the dominance rule" in result.stdout
    assert "revenue           Bakkerij Alfa (3 shops): 43.7%  -> sum/mean suppressed" \
        in result.stdout
    consortium = load_config(EXAMPLE / "consortium.toml")
    schema = report_schema()
    folders = sorted((tmp_path / "smpc-bench-demo").iterdir())
    assert [f.name for f in folders] == [firm_folder(i, consortium) for i in range(5)]
    for i, folder in enumerate(folders):
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        jsonschema.validate(report, schema)
        assert report["round"]["firm"] == consortium.parties[i].name
        assert (folder / "report.csv").is_file()
        assert "data:image/png;base64," in (folder / "report.html").read_text(encoding="utf-8")
    alfa = json.loads((folders[0] / "report.json").read_text(encoding="utf-8"))
    own = alfa["kpis"][1]["own"]["rows"]  # gross margin
    assert [(e["label"], e["value"]) for e in own] == [
        ("Alfa Centrum", "61.5"), ("Alfa Noord", "58.9"), ("Alfa Station", "63.2")]
    assert alfa["kpis"][5]["statistics"]["median"]["status"] == "suppressed"
    assert [k["no_dominant_firm"] for k in alfa["kpis"]] == [False] * 5 + [None]
    assert "the dominance rule" in alfa["kpis"][0]["statistics"]["sum"]["reason"]
    assert "fewer than 5 firms" in alfa["kpis"][5]["statistics"]["mean"]["reason"]
    assert alfa["round"]["max_firm_share"] == 0.25
    # Private positions (smpc_bench.positions.ranks) against pandas: rank 'min', percentile 'mean'.
    everything = pd.concat([pd.read_csv(EXAMPLE / f"{n}.csv") for n in
                            ("alfa", "beta", "gamma", "delta", "epsilon")], ignore_index=True)
    for k, kpi in enumerate(consortium.spec.kpis[:5]):
        column = everything[kpi.name].dropna()
        ranks = column.rank(method="min", ascending=not kpi.higher_is_better)
        for row, entry in enumerate(alfa["kpis"][k]["own"]["rows"]):
            assert entry["rank"] == int(ranks[row]) and entry["rank_of"] == len(column)
            below = (column < column[row]).sum() + (column == column[row]).sum() / 2
            assert Fraction(entry["percentile"]) == Fraction(100 * below).limit_denominator() \
                / len(column)
    assert alfa["kpis"][5]["own"]["rows"][0]["rank"] is None  # opening hours: not released


def _exact_answer(frame: pd.DataFrame, name: str, statistic: str) -> Fraction | float | None:
    """The oracle on the files' cells as text (pandas), exact (:func:`tests.oracles.released`)."""
    decimals = next(d for kpi, _, _, d, _ in GENERATED_KPIS if kpi == name)
    values = [oracles.exact_cell(cell, decimals) for cell in frame[name].dropna()]
    return oracles.released(statistic, values)


def _largest_firm_share(frame: pd.DataFrame, name: str) -> Fraction:
    """The dominance rule's measure: the largest |firm total| over the sum of |firm totals|."""
    totals = [abs(sum((Fraction(str(v)) for v in group.dropna()), Fraction(0)))
              for _, group in frame.groupby("firm")[name]]
    whole = sum(totals, Fraction(0))
    return max(totals) / whole if whole else Fraction(0)


def _generated_consortium(folder: Path, parties: int, seed: int) -> pd.DataFrame:
    """Tiny random data: 1-2 rows per firm; 'rare' is filled in by two firms only."""
    rng = random.Random(seed)
    stats = ", ".join(f'"{s}"' for s in STATISTICS)
    # Half, not the default quarter: with three firms one always holds a third of a total.
    lines = [f'[consortium]\nname = "generated {parties}"\n',
             "[disclosure]\nmin_contributions = 3\nmax_firm_share = 0.5\n"]
    for name, lower, upper, decimals, better in GENERATED_KPIS:
        lines.append(f'[[kpis]]\nname = "{name}"\nlower = {lower}\nupper = {upper}\n'
                     f"decimals = {decimals}\nhigher_is_better = {better}\n"
                     f"statistics = [{stats}]\n")
    frames = []
    for i in range(parties):
        lines.append(f'[[parties]]\nname = "Firm {i}"\ndata = "firm{i}.csv"\n')
        rows = []
        for r in range(rng.randint(1, 2)):
            rows.append({"shop": f"shop {i}.{r}",
                         "revenue": rng.choice([rng.randint(0, 2_000_000), 150_000]),
                         "margin": round(rng.uniform(-20, 80), 2) if rng.random() > 0.2 else None,
                         "rare": round(rng.uniform(0, 100), 1) if i < 2 else None})
        pd.DataFrame(rows).to_csv(folder / f"firm{i}.csv", index=False)
        # The oracle reads what the firm's file says, as text (empty cells: NaN).
        frame = pd.read_csv(folder / f"firm{i}.csv", dtype=str)
        frame["firm"] = i
        frames.append(frame)
    (folder / "consortium.toml").write_text("\n".join(lines), encoding="utf-8")
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("parties", [3, 5, 7])
def test_simulate_generated_consortia_equals_pandas(tmp_path: Path, parties: int) -> None:
    everything = _generated_consortium(tmp_path, parties, seed=parties)
    outcomes = simulate(tmp_path / "consortium.toml", tmp_path, timeout=240)
    assert len(outcomes) == parties
    assert all(o["kpis"] == outcomes[0]["kpis"] for o in outcomes), "parties disagree"
    for kpi in outcomes[0]["kpis"]:
        firms = everything.dropna(subset=[kpi["name"]])["firm"].nunique()
        dominated = _largest_firm_share(everything, kpi["name"]) > Fraction(1, 2)
        for statistic, item in kpi["statistics"].items():
            expected = _exact_answer(everything, kpi["name"], statistic)
            if statistic == "count":
                assert kpi["count"] == expected
                continue
            if firms < 3:  # the disclosure rule counts firms, not rows
                assert item["suppressed"] and item["value"] is None, (kpi["name"], statistic)
                continue
            if dominated and statistic in ("sum", "mean"):  # the dominance rule
                assert "the dominance rule" in item["suppressed"], (kpi["name"], statistic)
                assert item["value"] is None
                continue
            assert item["suppressed"] is None, (kpi["name"], statistic)
            assert oracles.same_released(item, expected), (kpi["name"], statistic, item,
                                                           expected)
    assert outcomes[0]["kpis"][2]["enough_firms"] is False  # 'rare': two firms only


def test_simulate_stops_before_any_process_on_one_malformed_csv(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture
                                                                ) -> None:
    _generated_consortium(tmp_path, 3, seed=1)
    (tmp_path / "firm1.csv").write_text("shop,revenue,margin,rare\nX,lots,5,\nY,10,500,\n",
                                        encoding="utf-8")
    code = cli.main(["simulate", "--config", str(tmp_path / "consortium.toml"),
                     "--data-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == exit_codes.BAD_INPUT
    error = capsys.readouterr().err
    # Not quiet: simulate announces the party processes right before it starts them.
    assert "one MPyC party process each" not in error
    assert "firm1.csv: 2 problems found" in error
    assert "line 2, column 'revenue': 'lots' is not a number" in error
    assert "line 3, column 'margin': 500 is outside the agreed range -20 to 80" in error
    assert not (tmp_path / "out").exists()


def test_simulate_cli_writes_reports(tmp_path: Path) -> None:
    _generated_consortium(tmp_path, 3, seed=3)
    result = _cli("simulate", "--config", str(tmp_path / "consortium.toml"), "--data-dir",
                  str(tmp_path), "--out", str(tmp_path / "reports"), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert len(document["report_folders"]) == 3
    for folder in map(Path, document["report_folders"]):
        jsonschema.validate(json.loads((folder / "report.json").read_text()), report_schema())
    assert result.stderr == ""  # --json is quiet


def test_simulate_with_costs_reports_each_partys_deterministic_costs(tmp_path: Path) -> None:
    _generated_consortium(tmp_path, 3, seed=5)
    outcomes = simulate(tmp_path / "consortium.toml", tmp_path, costs=True)
    counted = [outcome["costs"] for outcome in outcomes]
    assert [c["parties"] for c in counted] == [3, 3, 3]
    # The parties run in lock-step while counting, so they agree on the rounds.
    assert len({c["rounds"] for c in counted}) == 1 and counted[0]["rounds"] > 10
    assert all(c["bytes_sent"] > 0 and c["openings"] > 0 for c in counted)
    assert len({c["opened_elements"] for c in counted}) == 1


def test_costs_flag_prints_a_table_and_keeps_json_clean(tmp_path: Path) -> None:
    _generated_consortium(tmp_path, 3, seed=6)
    result = _cli("simulate", "--config", str(tmp_path / "consortium.toml"), "--data-dir",
                  str(tmp_path), "--out", str(tmp_path / "reports"), "--costs")
    assert result.returncode == 0, result.stderr
    table = result.stderr[result.stderr.index("costs (deterministic"):].splitlines()
    assert table[1].split() == ["party", "rounds", "messages", "bytes", "sent", "openings",
                                "opened", "comparisons"]
    assert [line.split()[0] for line in table[2:5]] == ["0", "1", "2"]


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = str(EXAMPLE / "consortium.toml")
    assert cli.main(["check", "--config", config, "--data", str(EXAMPLE / "gamma.csv")]) == 0
    out = capsys.readouterr().out
    assert "OK, 2 row(s) (Gamma Markt, Gamma Altstadt), 1 empty cell(s)" in out
    assert "never leave this computer: shop" in out
    assert load_config(config).spec.digest() in out
    bad = tmp_path / "bad.csv"
    bad.write_text("shop,revenue,gross_margin,staff_cost_ratio,waste_ratio,average_ticket\n"
                   "A,1.250.000,61.5,34.2,6.1,8.45\n", encoding="utf-8")
    assert (cli.main(["check", "--config", config, "--data", str(bad), "--json"])
            == exit_codes.BAD_INPUT)
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert document["problems"] == ["column(s) opening_hours missing; the file has shop, "
                                    "revenue, gross_margin, staff_cost_ratio, waste_ratio, "
                                    "average_ticket. The first line must name the columns: "
                                    "revenue, gross_margin, staff_cost_ratio, waste_ratio, "
                                    "average_ticket, opening_hours"]


def _spawn_all(commands: list[list[str]], cwd: Path, timeout: float = 120
               ) -> list[tuple[int, str, str]]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for c in commands]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def test_run_uses_configured_addresses_and_tls_certificates(tmp_path: Path) -> None:
    # Each certificate names its firm: a party whose certificate names another is refused.
    make_certificates(tmp_path / "certs", 3, names=["alfa", "beta", "gamma"])
    base = free_base_port(3)
    text = (EXAMPLE / "consortium.toml").read_text(encoding="utf-8")
    head = text.split("[[parties]]")[0].replace("min_contributions = 5",
                                                "min_contributions = 3")
    names = ["alfa", "beta", "gamma"]
    parties = "".join(f'[[parties]]\nname = "{n}"\naddress = "localhost:{base + i}"\n'
                      f'cert = "certs/party_{i}.crt"\nkey = "certs/party_{i}.key"\n'
                      for i, n in enumerate(names))
    config = tmp_path / "consortium.toml"
    config.write_text(head + '[tls]\nca = "certs/mpyc_ca.crt"\n' + parties, encoding="utf-8")
    results = _spawn_all([[sys.executable, "-m", "smpc_bench", "run", "--config", str(config),
                           "--data", str(EXAMPLE / f"{n}.csv"), "--party", n,
                           "--report-dir", f"report-{n}"] for n in names], cwd=tmp_path)
    for code, out, err in results:
        assert code == 0, err
        assert "All 3 parties connected via SSL" in out  # MPyC logs to stdout
        assert "computing and releasing" in err
    assert "results for beta" in results[1][1]
    report = json.loads((tmp_path / "report-beta" / "report.json").read_text())
    jsonschema.validate(report, report_schema())
    assert report["round"]["party"] == 1 and report["kpis"][0]["count"] == 6
    assert not (tmp_path / ".config").exists()  # the TLS layout lived in a temporary folder


@pytest.mark.parametrize(("old", "new"), [
    ("upper = 168", "upper = 167"),
    ("[disclosure]", "[positions]\nbands = 10\n\n[disclosure]"),
    ("max_firm_share = 0.25", "max_firm_share = 0.3"),  # the dominance rule is agreed too
])
def test_run_with_different_configs_stops_every_party(tmp_path: Path, old: str, new: str
                                                      ) -> None:
    text = (EXAMPLE / "consortium.toml").read_text(encoding="utf-8").replace(
        "min_contributions = 5", "min_contributions = 3")
    (tmp_path / "ours.toml").write_text(text, encoding="utf-8")
    (tmp_path / "theirs.toml").write_text(text.replace(old, new), encoding="utf-8")
    names = ["alfa", "beta", "gamma"]
    results = run_parties(
        lambda i: ["-m", "smpc_bench", "run", "--config",
                   str(tmp_path / ("theirs.toml" if i == 1 else "ours.toml")),
                   "--data", str(EXAMPLE / f"{names[i]}.csv"), "--quiet",
                   "--connect-timeout", "20"],
        3, timeout=120, check=False)
    # Refused on connect, before MPyC unpickles anything.  Every party stops: refused (6); lost
    # (4) if it reached a party already on its way out; or, if it started after the others had
    # stopped, at its connect timeout (1): nobody is left to tell it.
    codes = [r.returncode for r in results]
    assert set(codes) <= {exit_codes.PEER_REFUSED, exit_codes.PARTY_LOST, exit_codes.ERROR}, \
        describe(results)
    assert codes[1] == exit_codes.PEER_REFUSED, describe(results)
    assert any(re.search(r"the round spec of party \d \([^)]+\) differs from ours", r.stderr)
               for r in results), describe(results)
    assert all("Traceback" not in r.stderr for r in results)
