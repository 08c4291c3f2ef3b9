"""An outsourced round on one machine: many bakeries submit and leave, three servers compute.

Plays every role of ``examples/outsourced/README.md`` with the real ``smpc-bench`` command, each
step a separate process exactly as typed by hand: the operator (tokens, the servers' MPyC
certificates), three compute servers (keys, intake, computation) and N generated bakeries
(submit, then fetch their private results). It prints every released statistic beside the
answer computed the ordinary way from all the generated files, which only a demo can do.

Run from anywhere (it needs the ``smpc-bench`` command of this repository's environment)::

    .venv/bin/python examples/outsourced/run_on_one_machine.py [--contributors 200]

Everything, private keys included, is written to the work folder (``--work``, default
``./smpc-bench-outsourced``), which is emptied first if an earlier run made it. The servers are
stopped at the end, also on Ctrl-C or an error. Exit code 0 if every released statistic and
every fetched position equals the plaintext answer, 1 if not, 2 if a step failed, 130 on
Ctrl-C.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import math
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVERS = 3
MARKER = ".smpc-bench-outsourced-example"
KPIS = ("revenue", "gross_margin", "waste_ratio")
HIGHER_IS_BETTER = {"revenue": True, "gross_margin": True, "waste_ratio": False}


class StepFailed(RuntimeError):
    """A command of the round failed; the message says which and shows its output."""


def smpc_bench() -> list[str]:
    """The ``smpc-bench`` command: beside this Python, else on PATH, else ``python -m``."""
    beside = Path(sys.executable).with_name("smpc-bench")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("smpc-bench")
    return [found] if found else [sys.executable, "-m", "smpc_bench"]


class Round:
    """The work folder, the commands run in it, and the servers still running."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.command = smpc_bench()
        self.servers: list[subprocess.Popen[bytes]] = []
        self.running: set[subprocess.Popen[str]] = set()  # commands of run() under way
        self.stopping = threading.Event()

    def show(self, *args: str) -> None:
        """Print a command as a user would type it (in the work folder)."""
        print("   $ smpc-bench " + shlex.join(args))

    def run(self, *args: str, show: bool = True, timeout: float = 300) -> str:
        """Run ``smpc-bench args`` in the work folder; its stdout, or :class:`StepFailed`."""
        if self.stopping.is_set():
            raise StepFailed("stopped")
        if show:
            self.show(*args)
        process = subprocess.Popen([*self.command, *args], cwd=self.work, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.running.add(process)
        try:
            out, err = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
            self.running.discard(process)
        if process.returncode != 0:
            raise StepFailed(f"smpc-bench {shlex.join(args)} exited with "
                             f"{process.returncode}:\n{out}{err}")
        return out

    def start(self, log: Path, *args: str) -> subprocess.Popen[bytes]:
        """Start ``smpc-bench args`` in the background, stdout and stderr into ``log``."""
        self.show(*args)
        with log.open("wb") as file:
            return subprocess.Popen([*self.command, *args], cwd=self.work, stdout=file,
                                    stderr=subprocess.STDOUT)

    def stop(self) -> None:
        """Stop every command still running, and every server started here.

        The servers get SIGTERM: they commit what they hold, then exit.
        """
        self.stopping.set()
        for process in list(self.running):
            process.terminate()
        for process in self.servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.servers.clear()


# ------------------------------------------------------------------------------ the roles


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports that are free on 127.0.0.1 right now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def operator_setup(round_: Round, names: list[str]) -> dict[str, str]:
    """The operator: the round's file (on free ports), enrolment tokens, MPyC certificates."""
    print("1. operator: the round's file, one enrolment token per bakery, the servers' "
          "certificates")
    text = (HERE / "consortium.toml").read_text(encoding="utf-8")
    configured = sorted(set(re.findall(r"127\.0\.0\.1:(\d+)", text)))
    for old, new in zip(configured, free_ports(len(configured)), strict=True):
        text = text.replace(f"127.0.0.1:{old}\"", f"127.0.0.1:{new}\"")
    (round_.work / "round").mkdir(parents=True)
    (round_.work / "round" / "consortium.toml").write_text(text, encoding="utf-8")
    print("   round/consortium.toml: examples/outsourced/consortium.toml on free ports")
    (round_.work / "operator").mkdir()
    (round_.work / "operator" / "members.txt").write_text("\n".join(names) + "\n",
                                                          encoding="utf-8")
    round_.run("enrol", "--names", "operator/members.txt", "--out", "operator/enrolment",
               "--quiet")
    shutil.copy(round_.work / "operator/enrolment/tokens.sha256", round_.work / "round")
    round_.run("certs", "--parties", str(SERVERS), "--out", "operator/mpc", "--quiet")
    (round_.work / "round" / "mpc").mkdir()
    shutil.copy(round_.work / "operator/mpc/mpyc_ca.crt", round_.work / "round/mpc")
    for i in range(SERVERS):  # each server gets its own certificate and key, privately
        (round_.work / f"server{i}" / "mpc").mkdir(parents=True)
        for suffix in ("crt", "key"):
            shutil.move(round_.work / f"operator/mpc/party_{i}.{suffix}",
                        round_.work / f"server{i}/mpc")
    with (round_.work / "operator/enrolment/tokens.csv").open(encoding="utf-8") as file:
        return {row["contributor"]: row["token"] for row in csv.DictReader(file)}


def server_keys(round_: Round) -> None:
    """Every server makes its keys; only the public halves go into the round's files."""
    print("2. each server: its keys (the private ones stay in server<i>/keys)")
    (round_.work / "round" / "keys").mkdir()
    for i in range(SERVERS):
        round_.run("keygen", "--server", str(i), "--config", "round/consortium.toml",
                   "--out", f"server{i}/keys", "--quiet")
        for public in (f"server{i}.hpke.pub", f"server{i}.tls.crt"):
            shutil.copy(round_.work / f"server{i}/keys/{public}", round_.work / "round/keys")


def start_servers(round_: Round) -> None:
    """Every server starts its intake service; return once all three listen."""
    print("3. each server: its intake service (runs until the end of the round)")
    logs = [round_.work / f"server{i}" / "serve.log" for i in range(SERVERS)]
    for i in range(SERVERS):
        round_.servers.append(round_.start(
            logs[i], "serve", "--config", "round/consortium.toml", "--server", str(i),
            "--db", f"server{i}/round.sqlite", "--keys", f"server{i}/keys", "--json"))
    deadline = time.monotonic() + 120
    waiting = set(range(SERVERS))
    while waiting:
        for i in sorted(waiting):
            if '"event": "ready"' in logs[i].read_text(encoding="utf-8", errors="replace"):
                waiting.discard(i)
            elif round_.servers[i].poll() is not None or time.monotonic() > deadline:
                raise StepFailed(f"server {i} did not start:\n{logs[i].read_text()}")
        time.sleep(0.1)


def submit_all(round_: Round, bakeries: list[Path], jobs: int) -> None:
    """Every bakery submits its file once and leaves (``jobs`` of them at a time)."""
    print(f"4. each bakery: submit its figures ({len(bakeries)} bakeries, {jobs} at a time)")

    def submit(folder: Path, show: bool) -> None:
        where = folder.relative_to(round_.work)
        round_.run("submit", "--config", "round/consortium.toml", "--data",
                   f"{where}/figures.csv", "--token-file", f"{where}/token.txt", "--state",
                   f"{where}/contribution", "--quiet", show=show)

    submit(bakeries[0], True)
    pool = concurrent.futures.ThreadPoolExecutor(jobs)
    try:
        pending = [pool.submit(submit, folder, False) for folder in bakeries[1:]]
        for done, future in enumerate(concurrent.futures.as_completed(pending), start=2):
            future.result()
            if done % max(1, len(bakeries) // 5) == 0 or done == len(bakeries):
                print(f"   ... {done} of {len(bakeries)} stored at every server")
    except BaseException:  # a failed submission, Ctrl-C: stop the others at once
        round_.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def compute(round_: Round) -> list[dict[str, Any]]:
    """The three servers compute together; each one's published outcome."""
    print("5. each server, at the deadline: compute together (MPyC over TLS)")
    logs = [round_.work / f"server{i}" / "compute.log" for i in range(SERVERS)]
    processes = [round_.start(
        logs[i], "compute", "--config", "round/consortium.toml", "--server", str(i),
        "--db", f"server{i}/round.sqlite", "--keys", f"server{i}/keys",
        "--cert", f"server{i}/mpc/party_{i}.crt", "--key", f"server{i}/mpc/party_{i}.key",
        "--out", f"server{i}/published", "--before-deadline") for i in range(SERVERS)]
    try:
        while any(p.poll() is None for p in processes):
            failed = [i for i, p in enumerate(processes) if p.poll() not in (None, 0)]
            if failed:
                raise StepFailed(f"compute failed on server {failed[0]}:\n"
                                 f"{logs[failed[0]].read_text()}")
            time.sleep(0.2)
        for i, process in enumerate(processes):
            if process.returncode != 0:
                raise StepFailed(f"compute failed on server {i}:\n{logs[i].read_text()}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait()
    print("   " + next(line for line in logs[0].read_text().splitlines()
                       if "round computed" in line))
    return [json.loads((round_.work / f"server{i}/published/outcome.json").read_text())
            for i in range(SERVERS)]


def fetch(round_: Round, folder: Path, name: str, show: bool) -> dict[str, Any]:
    """One bakery fetches its results (its report, with its private position)."""
    where = folder.relative_to(round_.work)
    report = json.loads(round_.run(
        "fetch-result", "--config", "round/consortium.toml", "--data", f"{where}/figures.csv",
        "--token-file", f"{where}/token.txt", "--state", f"{where}/contribution", "--firm",
        name, "--json", show=show))
    return {kpi["name"]: kpi["own"]["rows"][0] for kpi in report["kpis"]}


# ----------------------------------------------------------------- data and the plaintext


def make_bakeries(work: Path, names: list[str], tokens: dict[str, str], seed: int
                  ) -> tuple[list[Path], list[dict[str, Fraction | None]]]:
    """One folder per bakery: its figures (about 5 % of cells empty) and its token."""
    rng = random.Random(seed)
    folders, figures = [], []
    for name in names:
        row: dict[str, Fraction | None] = {
            "revenue": Fraction(rng.randrange(300_000, 1_500_001)),
            "gross_margin": Fraction(rng.randrange(400, 701), 10),
            "waste_ratio": Fraction(rng.randrange(30, 121), 10),
        }
        for kpi in KPIS[1:]:
            if rng.random() < 0.05:
                row[kpi] = None
        folder = work / "bakeries" / name.lower().replace(" ", "-")
        folder.mkdir(parents=True)
        cells = ["" if v is None else str(v.numerator) if v.denominator == 1 else str(float(v))
                 for v in row.values()]
        (folder / "figures.csv").write_text(f"bakery,{','.join(KPIS)}\n{name},{','.join(cells)}\n",
                                            encoding="utf-8")
        token = folder / "token.txt"  # handed to this bakery only
        token.write_text(tokens[name] + "\n", encoding="utf-8")
        token.chmod(0o600)
        folders.append(folder)
        figures.append(row)
    return folders, figures


def column(figures: list[dict[str, Fraction | None]], kpi: str) -> list[Fraction]:
    """The values of ``kpi`` over every bakery that filled it in."""
    return [value for row in figures if (value := row[kpi]) is not None]


def plaintext(values: list[Fraction], statistic: str) -> Fraction | float:
    """The ordinary answer (:mod:`statistics`, exact); quantiles by the inclusive method."""
    if statistic == "count":
        return Fraction(len(values))
    if statistic == "sum":
        return Fraction(sum(values))
    if statistic == "mean":
        return Fraction(statistics.mean(values))
    if statistic == "stdev":
        return math.sqrt(statistics.variance(values))
    if statistic == "median":
        return Fraction(statistics.median(values))
    percent = int(statistic.removeprefix("p"))
    return Fraction(statistics.quantiles(values, n=100, method="inclusive")[percent - 1])


def position(values: list[Fraction], own: Fraction, higher_is_better: bool
             ) -> tuple[int, Fraction]:
    """Rank (1 = best, ties share the best) and percentile (share below, ties half)."""
    better = sum((v > own) if higher_is_better else (v < own) for v in values)
    below = sum(v < own for v in values)
    equal = sum(v == own for v in values)
    return 1 + better, Fraction(100 * (2 * below + equal), 2 * len(values))


def shown(value: Fraction | float | None) -> str:
    """A value for the table: at most two decimals."""
    if value is None:
        return "-"
    return f"{float(value):,.2f}".rstrip("0").rstrip(".")


def compare(outcome: dict[str, Any], figures: list[dict[str, Fraction | None]]
            ) -> tuple[bool, dict[str, Any]]:
    """Print released beside plaintext; whether all agree, and the table for ``--json``."""
    print(f"\n{'KPI':<14}{'statistic':<11}{'released':>16}{'plaintext':>16}  check")
    ok, table = True, {}
    for kpi in outcome["kpis"]:
        values = column(figures, kpi["name"])
        table[kpi["name"]] = {}
        for name, item in kpi["statistics"].items():
            want = plaintext(values, name)
            if item["value"] is None:
                got, check = None, f"suppressed: {item['suppressed']}"
            else:
                got = float(item["value"]) if name == "stdev" else Fraction(item["value"])
                check = "equal" if got == want else "DIFFERENT"
                ok &= got == want
            table[kpi["name"]][name] = {"released": item["value"], "plaintext": str(want),
                                        "suppressed": item["suppressed"]}
            print(f"{kpi['name']:<14}{name:<11}{shown(got):>16}{shown(want):>16}  {check}")
    return ok, table


# ------------------------------------------------------------------------------------ main


def prepare_work(work: Path) -> None:
    """Make an empty work folder (removing only one that an earlier run of this script made)."""
    if work.exists() and any(work.iterdir()):
        if not (work / MARKER).exists():
            raise StepFailed(f"{work} exists and was not made by this script: choose another "
                             "folder with --work")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / MARKER).write_text("made by examples/outsourced/run_on_one_machine.py\n",
                               encoding="utf-8")


def play(args: argparse.Namespace, round_: Round) -> dict[str, Any]:
    """Every step of the round; the summary that ``--json`` writes."""
    names = [f"Bakery {k:03d}" for k in range(1, args.contributors + 1)]
    tokens = operator_setup(round_, names)
    server_keys(round_)
    bakeries, figures = make_bakeries(round_.work, names, tokens, args.seed)
    start_servers(round_)
    submit_all(round_, bakeries, args.jobs)
    outcomes = compute(round_)
    public = [{k: v for k, v in o.items() if k not in ("party", "timings", "bytes_sent")}
              for o in outcomes]
    servers_agree = all(p == public[0] for p in public)
    ok, table = compare(outcomes[0], figures)
    print(f"\n6. {args.fetch} bakeries fetch their private results (shares combined on their "
          "own machine)")
    fetched = {}
    for k in range(min(args.fetch, len(names))):
        own = fetch(round_, bakeries[k], names[k], show=k == 0)
        fetched[names[k]] = own
        for kpi in KPIS:
            entry, value = own[kpi], figures[k][kpi]
            if value is None:
                print(f"   {names[k]} {kpi}: missing, no position")
                continue
            rank, percentile = position(column(figures, kpi), value, HIGHER_IS_BETTER[kpi])
            same = (entry["rank"], Fraction(entry["percentile"])) == (rank, percentile)
            ok &= same
            print(f"   {names[k]} {kpi}: rank {entry['rank']} of {entry['rank_of']}, "
                  f"percentile {shown(Fraction(entry['percentile']))}, band {entry['band']} "
                  f"(plaintext: rank {rank}, percentile {shown(percentile)}) "
                  f"{'equal' if same else 'DIFFERENT'}")
    print(f"   reports in {bakeries[0].relative_to(round_.work)}/contribution/report/ "
          "(open report.html)")
    ok &= servers_agree
    return {"contributors": len(names), "work": str(round_.work),
            "bakeries": [str(folder / "figures.csv") for folder in bakeries],
            "servers_agree": servers_agree, "statistics": table, "outcome": outcomes[0],
            "fetched": fetched, "all_equal": ok}


def main(argv: list[str] | None = None) -> int:
    """Run the round; the exit code (0 everything equal, 1 a difference, 2 a step failed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributors", type=int, default=200,
                        help="number of bakeries (default 200, at least 5)")
    parser.add_argument("--work", type=Path, default=Path("smpc-bench-outsourced"),
                        help="work folder (default ./smpc-bench-outsourced)")
    parser.add_argument("--fetch", type=int, default=3,
                        help="how many bakeries fetch their results (default 3)")
    parser.add_argument("--jobs", type=int, default=4, help="submissions at a time (default 4)")
    parser.add_argument("--seed", type=int, default=2025, help="seed of the generated figures")
    parser.add_argument("--json", type=Path, help="also write a summary to this JSON file")
    args = parser.parse_args(argv)
    if args.contributors < 5:
        parser.error("--contributors must be at least 5 (the round's min_contributions)")
    # A SIGTERM (like Ctrl-C) ends the round through the `finally` below: servers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    round_ = Round(args.work.resolve())
    started = time.monotonic()
    try:
        prepare_work(round_.work)
        print(f"work folder {round_.work} (every command below runs there)")
        summary = play(args, round_)
    except (StepFailed, OSError, subprocess.TimeoutExpired) as error:
        print(f"run_on_one_machine: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: every server started here is stopped", file=sys.stderr)
        return 130
    finally:
        round_.stop()
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nservers stopped; {time.monotonic() - started:.0f} s in all. "
          + ("Every released statistic and position equals the plaintext answer."
             if summary["all_equal"] else "SOME RESULTS DIFFER from the plaintext answer."))
    return 0 if summary["all_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
