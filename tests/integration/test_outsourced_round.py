"""A whole outsourced round on one machine, against the plaintext answer.

200 generated contributors (one row each, four KPIs, missing cells, ties) submit to three
``smpc-bench serve`` processes over HTTPS with pinned certificates; one contributor's upload
reaches only two servers, one resubmits new figures, one sends a malformed encoding.  The
three servers then run ``smpc-bench compute`` as MPyC parties over TLS; one of them is killed
(SIGKILL) during the computation, the others must stop with exit code 4 and a clear message,
and a rerun on all three completes.  Every contributor then fetches its result: every released
statistic must equal the answer computed here with :mod:`statistics` over the exact values that
count, and every private position pandas' ``rank(method="min")`` and the "mean" percentile.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import math
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smpc_bench.engine.local_parties import free_base_port
from smpc_bench.inputs.certificates import make_certificates
from smpc_bench.inputs.consortium import load_config
from smpc_bench.outsourced.keys import make_server_keys
from smpc_bench.outsourced.tokens import token_hash, write_enrolment
from smpc_bench.spec import exit_codes

pytestmark = pytest.mark.multiparty

ROOT = Path(__file__).resolve().parents[2]
CONTRIBUTORS = 200
ENROLLED = 205  # a few members never submit
SERVERS = 3
PARTIAL, RESUBMITTER, MALFORMED, VIA_CLI = 0, 1, 2, 3
EXPORTERS = (10, 20, 30, 40)  # the only ones reporting exports: too few to release anything

CONFIG = """
[consortium]
name = "Outsourced test round"

[disclosure]
min_contributions = 5
max_firm_share = 0.5

[positions]
enabled = true
bands = 4

[tls]
ca = "mpc/mpyc_ca.crt"

[[kpis]]
name = "revenue"
unit = "EUR"
lower = 0
upper = 1000000
decimals = 0
statistics = ["count", "sum", "mean", "stdev", "q1", "median", "q3"]

[[kpis]]
name = "margin"
unit = "%"
lower = -50
upper = 100
decimals = 1
statistics = ["count", "mean", "p10", "median", "p90"]

[[kpis]]
name = "days"
lower = 0
upper = 365
decimals = 0
higher_is_better = false
statistics = ["count", "median"]

[[kpis]]
name = "exports"
lower = 0
upper = 100
decimals = 0
statistics = ["count", "mean", "median"]

[outsourced]
deadline = "2099-12-31T23:00:00Z"
max_rows = 1
tokens = "enrolment/tokens.sha256"
"""

SERVER = """
[[outsourced.servers]]
name = "{name}"
url = "https://127.0.0.1:{http}"
address = "127.0.0.1:{mpc}"
public_key = "keys/server{i}.hpke.pub"
certificate = "keys/server{i}.tls.crt"
"""

NAMES = ("Statistics office", "University lab", "Trade association")

def command(name: str, *args: str) -> list[str]:
    """The command line of ``smpc-bench <name> args`` as a separate process."""
    return [sys.executable, "-m", "smpc_bench.cli.main", name, *args]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT),
                                                      env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------------------------- data


def _values(rng: random.Random) -> dict[str, Fraction | None]:
    """One contributor's figures (None = missing), exact, on a coarse grid for ties."""
    def maybe(value: Fraction) -> Fraction | None:
        return None if rng.random() < 0.1 else value

    return {
        "revenue": maybe(Fraction(rng.choice([rng.randrange(0, 1_000_001),
                                              rng.randrange(0, 100) * 10_000]))),
        "margin": maybe(Fraction(rng.randrange(-500, 1001), 10)),
        "days": Fraction(rng.choice([7, 14, 30, 30, 45, 60, 90, rng.randrange(0, 366)])),
        "exports": None,
    }


def _csv(values: dict[str, Fraction | None]) -> str:
    def cell(value: Fraction | None) -> str:
        if value is None:
            return ""
        return str(value.numerator) if value.denominator == 1 else str(float(value))

    return "revenue,margin,days,exports\n" + ",".join(cell(values[k]) for k in
                                                      ("revenue", "margin", "days",
                                                       "exports")) + "\n"


@dataclass
class Contributor:
    index: int
    token: str
    values: dict[str, Fraction | None]
    data: Path
    state: Path
    first_values: dict[str, Fraction | None] | None = None


@dataclass
class Round:
    folder: Path
    config: Path
    contributors: list[Contributor]
    killed: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    killed_server: int = 1
    computed: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    fetched: dict[int, Any] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    cli_fetch: subprocess.CompletedProcess[str] | None = None


# -------------------------------------------------------------------------------- processes


class Servers:
    """The three ``serve`` processes."""

    def __init__(self, folder: Path, config: Path) -> None:
        self.folder, self.config = folder, config
        self.procs: dict[int, subprocess.Popen[str]] = {}
        self.logs: list[Any] = []

    def start(self, index: int) -> None:
        log = (self.folder / f"serve{index}.log").open("w")
        self.logs.append(log)
        proc = subprocess.Popen(
            command("serve", "--config", str(self.config), "--server", str(index), "--db",
                    str(self.folder / f"server{index}.sqlite"), "--keys",
                    str(self.folder / "keys"), "--json"),
            stdout=subprocess.PIPE, stderr=log, text=True, env=_environment(), cwd=self.folder)
        self.procs[index] = proc
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the "ready" event (or EOF if it failed)
        assert '"ready"' in line, (line, (self.folder / f"serve{index}.log").read_text())

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        for log in self.logs:
            log.close()


def _compute_command(folder: Path, config: Path, index: int) -> list[str]:
    return command("compute", "--config", str(config), "--server", str(index), "--db",
                   str(folder / f"server{index}.sqlite"), "--keys", str(folder / "keys"),
                   "--cert", str(folder / "mpc" / f"party_{index}.crt"),
                   "--key", str(folder / "mpc" / f"party_{index}.key"),
                   "--out", str(folder / f"published{index}"), "--before-deadline",
                   "--connect-timeout", "60", "--phase-timeout", "60", "--timeout", "240",
                   "--json")


def _start_computes(folder: Path, config: Path) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen(_compute_command(folder, config, i), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_environment(), cwd=folder)
            for i in range(SERVERS)]


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 240
            ) -> list[subprocess.CompletedProcess[str]]:
    done = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def _state(database: Path) -> dict[str, str]:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return dict(db.execute("SELECT key, value FROM compute_state").fetchall())
    except sqlite3.Error:
        return {}


# ------------------------------------------------------------------------------------ setup


def _write_round(folder: Path) -> tuple[Path, list[str]]:
    http = free_base_port(SERVERS)
    mpc = free_base_port(SERVERS)
    while abs(mpc - http) < SERVERS:
        mpc = free_base_port(SERVERS)
    secrets_file, _ = write_enrolment(folder / "enrolment", ENROLLED)
    tokens = pd.read_csv(secrets_file)["token"].tolist()
    config = folder / "round.toml"
    config.write_text(CONFIG + "".join(SERVER.format(name=NAMES[i], http=http + i, mpc=mpc + i,
                                                     i=i) for i in range(SERVERS)),
                      encoding="utf-8")
    for i in range(SERVERS):
        make_server_keys(folder / "keys", i, name=NAMES[i], host="127.0.0.1")
    make_certificates(folder / "mpc", SERVERS)
    return config, tokens


def _malformed_bodies(config: Path, contributor: Contributor) -> list[bytes]:
    """Sealed bodies whose revenue digits are not one-hot (two digits set): caught in the MPC."""
    from smpc_bench.outsourced.envelope import SUBMISSION, seal_for
    from smpc_bench.outsourced.keys import generate_result_key, public_key_pem
    from smpc_bench.outsourced.payload import pack_shares
    from smpc_bench.outsourced.splitting import split_contribution
    from smpc_bench.outsourced.submission import RoundContext, new_submission_id, read_rows
    from smpc_bench.spec.encoding import encode_digits, encode_rows

    context = RoundContext.load(load_config(config))
    spec = context.consortium.spec
    offsets, valid = encode_rows(spec.kpis, read_rows(context.consortium, contributor.data).rows)
    digits = encode_digits(offsets, context.sizing.value_bits, spec.radix_bits)
    assert valid[0, 0] == 1
    digits[0, 0, -1, :] = 0
    digits[0, 0, -1, 1:3] = 1  # the lowest revenue digit is now "1 and 2"
    shares = split_contribution(digits.reshape(len(spec.kpis), -1), valid, context.prime,
                                SERVERS, context.threshold)
    key = generate_result_key(contributor.state / "result.key")
    submission_id = new_submission_id()
    bodies = []
    for index, (digit_shares, valid_shares) in enumerate(shares):
        sealed = seal_for(context.public_keys[index],
                          pack_shares(digit_shares, valid_shares, context.prime),
                          purpose=SUBMISSION, round_id=context.round_id, server_index=index,
                          submission_id=submission_id)
        bodies.append(json.dumps({
            "version": 1, "round_id": context.round_id, "server_index": index,
            "submission_id": submission_id, "rows": 1,
            "result_public_key": public_key_pem(key.public_key()),
            "sealed": base64.b64encode(sealed).decode("ascii")}).encode())
    return bodies


def _submit(config: Path, contributor: Contributor, **options: Any) -> Any:
    from smpc_bench.outsourced.submission import submit_contribution

    return submit_contribution(load_config(config), contributor.data, contributor.token,
                               folder=contributor.state, **options)


def _submit_everyone(folder: Path, config: Path, contributors: list[Contributor],
                     servers: Servers) -> None:
    import asyncio

    from smpc_bench.outsourced.submission import RoundContext, upload_all

    # The partial contributor submits while server 2 is down: its upload reaches two servers.
    report = _submit(config, contributors[PARTIAL], attempts=1, timeout=5)
    assert [reply.ok for reply in report.servers] == [True, True, False], report
    servers.start(2)
    # The resubmitter's first figures, replaced below.
    assert _submit(config, contributors[RESUBMITTER]).complete
    contributor = contributors[RESUBMITTER]
    contributor.data.write_text(_csv(contributor.values), encoding="utf-8")
    context = RoundContext.load(load_config(config))
    replies = asyncio.run(upload_all(context, contributors[MALFORMED].token,
                                     _malformed_bodies(config, contributors[MALFORMED])))
    assert all(reply.ok for reply in replies), replies
    cli = subprocess.run(command("submit", "--config", str(config), "--data",
                                 str(contributors[VIA_CLI].data), "--state",
                                 str(contributors[VIA_CLI].state), "--token-file",
                                 str(contributors[VIA_CLI].state.parent / "via-cli.token")),
                         capture_output=True, text=True, env=_environment(), timeout=120)
    assert cli.returncode == 0, cli.stderr
    rest = [c for c in contributors if c.index not in (PARTIAL, MALFORMED, VIA_CLI)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda c: _submit(config, c), rest))
    assert all(r.complete for r in reports)


def _fetch(config: Path, contributor: Contributor) -> tuple[int, Any]:
    from smpc_bench.outsourced.results import FetchError, fetch_result

    try:
        return contributor.index, fetch_result(load_config(config), contributor.state,
                                               contributor.token, contributor.data)
    except FetchError as error:
        return contributor.index, str(error)


@pytest.fixture(scope="module")
def finished_round(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Round]:
    folder = tmp_path_factory.mktemp("outsourced")
    config, tokens = _write_round(folder)
    rng = random.Random(20261204)
    contributors = []
    for i in range(CONTRIBUTORS):
        values = _values(rng)
        if i in EXPORTERS:
            values["exports"] = Fraction(rng.randrange(0, 101))
        data = folder / "data" / f"contributor{i}.csv"
        data.parent.mkdir(exist_ok=True)
        contributors.append(Contributor(i, tokens[i], values, data,
                                        folder / "contributors" / f"c{i}"))
    resubmitter = contributors[RESUBMITTER]
    resubmitter.first_values = dict(resubmitter.values)
    resubmitter.values = {**resubmitter.values, "revenue": Fraction(999_999),
                          "margin": Fraction(-123, 10)}
    for c in contributors:
        c.data.write_text(_csv(c.first_values or c.values), encoding="utf-8")
        c.state.parent.mkdir(exist_ok=True)
    (folder / "contributors" / "via-cli.token").write_text(tokens[VIA_CLI], encoding="utf-8")
    servers = Servers(folder, config)
    try:
        servers.start(0)
        servers.start(1)
        _submit_everyone(folder, config, contributors, servers)
        result = Round(folder, config, contributors)
        # A server killed during the computation: the others stop, then all three rerun.
        procs = _start_computes(folder, config)
        database = folder / f"server{result.killed_server}.sqlite"
        deadline = time.monotonic() + 120
        while _state(database).get("status") != "running" and time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.02)
        procs[result.killed_server].send_signal(signal.SIGKILL)
        result.killed = _finish(procs)
        finished = _finish(_start_computes(folder, config))
        for run in finished:
            assert run.returncode == 0, run.stderr[-3000:]
        result.computed = [json.loads(run.stdout) for run in finished]
        result.outcomes = [json.loads((folder / f"published{i}" / "outcome.json").read_text())
                           for i in range(SERVERS)]
        fetchers = [c for c in contributors if c.index not in (MALFORMED, VIA_CLI)]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            for index, answer in pool.map(lambda c: _fetch(config, c), fetchers):
                if isinstance(answer, str):
                    result.refused[index] = answer
                else:
                    result.fetched[index] = answer
        via_cli = contributors[VIA_CLI]
        result.cli_fetch = subprocess.run(
            command("fetch-result", "--config", str(config), "--data", str(via_cli.data),
                    "--state", str(via_cli.state), "--token", via_cli.token, "--firm",
                    "Contributor three", "--json"),
            capture_output=True, text=True, env=_environment(), timeout=120)
        yield result
    finally:
        servers.stop()


# ----------------------------------------------------------------------------------- oracle


def _counted(round_: Round) -> list[Contributor]:
    return [c for c in round_.contributors if c.index != PARTIAL]


def _column(round_: Round, kpi: str) -> list[Fraction]:
    """The values of ``kpi`` that count: latest submissions at every server, well formed."""
    return [c.values[kpi] for c in _counted(round_) if c.values[kpi] is not None
            and not (kpi == "revenue" and c.index == MALFORMED)]


def _expected(values: list[Fraction], statistic: str) -> Fraction | float | None:
    if statistic == "count":
        return Fraction(len(values))
    if statistic == "sum":
        return Fraction(sum(values))
    if statistic == "mean":
        return statistics.mean(values)
    if statistic == "stdev":
        return math.sqrt(statistics.variance(values))
    if statistic == "median":
        return statistics.median(values)
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return {"p25": quartiles[0], "p75": quartiles[2], "p10": deciles[0], "p90": deciles[8]}[
        statistic]


def _position_oracle(values: list[Fraction], value: Fraction, higher: bool
                     ) -> tuple[int, Fraction, int]:
    """Rank (pandas "min"), percentile (scipy's kind="mean", exact) and quartile band."""
    series = pd.Series([float(v) for v in values])
    rank = int(series.rank(method="min", ascending=not higher)[values.index(value)])
    below = sum(v < value for v in values)
    equal = sum(v == value for v in values)
    percentile = Fraction(100 * (2 * below + equal), 2 * len(values))
    return rank, percentile, 1 + int(4 * percentile // 100)


# ------------------------------------------------------------------------------------ tests


def test_killed_server_stops_the_others_and_the_rerun_completes(finished_round: Round) -> None:
    killed = finished_round.killed_server
    messages = []
    for index, run in enumerate(finished_round.killed):
        if index == killed:
            assert run.returncode == -signal.SIGKILL
            continue
        assert run.returncode == exit_codes.PARTY_LOST, run.stderr[-2000:]
        messages.append(run.stderr.strip().splitlines()[-1])
        assert f"party {killed}" in messages[-1] and "disconnected" in messages[-1]
        assert "rerun `smpc-bench compute` on every server" in messages[-1]
        assert "Traceback" not in run.stderr
    runs = {summary["run"] for summary in finished_round.computed}
    assert len(runs) == 1  # all three servers of one run
    local = ("party", "timings", "bytes_sent", "not_counted")  # this server's own facts
    public = [{k: v for k, v in o.items() if k not in local} for o in finished_round.outcomes]
    assert public[0] == public[1] == public[2]


def test_every_released_statistic_equals_the_plaintext_answer(finished_round: Round) -> None:
    consortium = load_config(finished_round.config)
    outcome = finished_round.outcomes[0]
    assert outcome["contributors"] == CONTRIBUTORS - 1
    assert outcome["rows_per_contributor"] == {"1": CONTRIBUTORS - 1}
    for kpi, entry in zip(consortium.spec.kpis, outcome["kpis"], strict=True):
        values = _column(finished_round, kpi.name)
        assert entry["count"] == len(values)
        assert entry["rejected"] == (1 if kpi.name == "revenue" else 0)
        for name, item in entry["statistics"].items():
            if kpi.name == "exports" and name != "count":  # four contributors: too few
                assert item["value"] is None and "at least 5" in item["suppressed"]
                continue
            want = _expected(values, name)
            got = float(item["value"]) if name == "stdev" else Fraction(item["value"])
            assert got == want, (kpi.name, name)
    report = finished_round.fetched[5].report
    assert report["kpis"][0]["statistics"]["median"]["value"] == outcome["kpis"][0][
        "statistics"]["median"]["value"]


def test_every_private_position_equals_pandas(finished_round: Round) -> None:
    consortium = load_config(finished_round.config)
    expected_fetched = {c.index for c in finished_round.contributors
                        if c.index not in (PARTIAL, MALFORMED, VIA_CLI)}
    assert set(finished_round.fetched) == expected_fetched
    checked = 0
    for contributor in finished_round.contributors:
        fetched = finished_round.fetched.get(contributor.index)
        if fetched is None:
            continue
        for kpi, section in zip(consortium.spec.kpis, fetched.report["kpis"], strict=True):
            entry = section["own"]["rows"][0]
            value = contributor.values[kpi.name]
            if value is None or kpi.name == "exports":  # missing, or not released
                assert entry["rank"] is None and entry["percentile"] is None
                continue
            column = _column(finished_round, kpi.name)
            rank, percentile, band = _position_oracle(column, value, kpi.higher_is_better)
            assert (entry["rank"], Fraction(entry["percentile"]), entry["band"]) == (
                rank, percentile, band), (contributor.index, kpi.name)
            assert entry["rank_of"] == len(column)
            checked += 1
    assert checked > 3 * len(expected_fetched) * 0.8


def test_contributor_fetching_through_the_command_gets_the_report(finished_round: Round
                                                                   ) -> None:
    run = finished_round.cli_fetch
    assert run is not None and run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["round"]["firm"] == "Contributor three"
    contributor = finished_round.contributors[VIA_CLI]
    days = report["kpis"][2]["own"]["rows"][0]
    want_days = contributor.values["days"]
    assert want_days is not None
    rank, percentile, band = _position_oracle(_column(finished_round, "days"), want_days, False)
    assert (days["rank"], Fraction(days["percentile"]), days["band"]) == (rank, percentile, band)
    written = contributor.state / "report"
    assert {p.name for p in written.iterdir()} == {"report.json", "report.csv", "report.html"}


def test_a_submission_that_reached_two_servers_counts_nowhere_and_says_why(
        finished_round: Round) -> None:
    message = finished_round.refused[PARTIAL]
    assert "did not count" in message
    assert set(finished_round.refused) == {PARTIAL}
    partial = token_hash(finished_round.contributors[PARTIAL].token)
    for index in (0, 1):  # the servers that hold it record why, for the contributor
        with sqlite3.connect(finished_round.folder / f"server{index}.sqlite") as db:
            (reason,) = db.execute("SELECT reason FROM not_counted WHERE token_hash = ?",
                                   (partial,)).fetchone()
            assert db.execute("SELECT COUNT(*) FROM results WHERE token_hash = ?",
                              (partial,)).fetchone() == (0,)
        assert "reached only 2 of 3 servers" in reason and NAMES[2] in reason


def test_the_last_submission_of_a_resubmitting_contributor_counts(finished_round: Round
                                                                   ) -> None:
    resubmitter = finished_round.contributors[RESUBMITTER]
    assert resubmitter.first_values is not None
    entry = finished_round.fetched[RESUBMITTER].report["kpis"][0]["own"]["rows"][0]
    assert Fraction(entry["value"]) == 999_999
    entry = finished_round.fetched[RESUBMITTER].report["kpis"][1]["own"]["rows"][0]
    assert Fraction(entry["value"]) == Fraction(-123, 10)
    assert resubmitter.first_values["margin"] != Fraction(-123, 10)
    # Only the last figures count: the released total is over them (and not the first ones).
    released = Fraction(finished_round.outcomes[0]["kpis"][0]["statistics"]["sum"]["value"])
    assert released == sum(_column(finished_round, "revenue"))
