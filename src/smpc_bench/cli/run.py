"""Run one party of a peer-mode benchmarking round (one process per firm).

Usage (``smpc-bench run`` is the same program)::

    python -m smpc_bench.cli.run --config consortium.toml --data mine.csv --party 0
    python -m smpc_bench.cli.run --config consortium.toml --data mine.csv --party 0
        -P alpha:11365 -P beta:11365 -P gamma:11365 --ssl --report-dir my-report

``--party I`` becomes MPyC's ``-I I``; without ``-P`` (or ``-M``/``-C``) the addresses under
``[[parties]]`` in the configuration become MPyC's ``-P host:port`` list.  TLS is on with
``--ssl`` or when the configuration has a ``[tls]`` section; certificate paths come from
``--cert/--key/--ca`` or the configuration (see :mod:`smpc_bench.inputs.tls`).  MPyC's own
flags (``-M``, ``-I``, ``-P``, ``-B``, ``-T``, ``--ssl``, ...) are passed through.

Progress (one line per phase, with timings) goes to stderr unless ``--quiet``.  ``--json``
prints the firm's report as JSON on stdout; ``--json-out F`` writes the round outcome (the
released statistics) to F; ``--report-dir D`` writes ``report.json``/``.csv``/``.html``.
A round whose addresses are not all on this machine needs TLS (``--ssl`` or ``[tls]``): MPyC
unpickles what peers send, so only authenticated peers may connect; ``--insecure`` overrides
this on a network you trust.  Exit codes (:mod:`smpc_bench.spec.exit_codes`): 0 ok; 1 error;
3 the whole run timed out; 4 another party disconnected or crashed; 5 another party sent nothing
for the progress timeout; 6 a peer was refused (another round or spec, a wrong address or
certificate); 7 the consortium file or the data file cannot be used.  A failed round prints one
line and writes the details to a log file (its path is in the line); it writes no report and
leaves an earlier report as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from smpc_bench import costs
from smpc_bench.cli.failures import failure_log_path, report_failure
from smpc_bench.cli.mpyc_flags import mpyc_flags, remote_addresses
from smpc_bench.core.release import Timeouts
from smpc_bench.engine import driver, liveness
from smpc_bench.engine.prss import will_use_prss
from smpc_bench.inputs.consortium import ConfigError, Consortium, load_config
from smpc_bench.inputs.firm_data import TableCheck, check_frame, read_table
from smpc_bench.inputs.tls import TlsFiles, mpyc_tls_layout
from smpc_bench.peer.private_step import positions_step
from smpc_bench.peer.round import statistics_round
from smpc_bench.positions.delivery import report_positions
from smpc_bench.report.atomic import write_text_atomic
from smpc_bench.report.formatting import format_value
from smpc_bench.spec import exit_codes
from smpc_bench.spec.kpi import InputError
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.outcome import RoundOutcome, outcome_to_dict
from smpc_bench.spec.round_spec import RoundSpec
from smpc_bench.spec.threshold import describe

__all__ = ["main", "with_statistics"]

def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=description, allow_abbrev=False, add_help=False,
        epilog="MPyC's own flags (-M, -I, -P, -B, -T, --ssl, ...) are accepted too; "
               "MPyC's help: -H.")
    parser.add_argument("-h", "--help", action="help", help="show this help and exit")
    parser.add_argument("--config", required=True, help="consortium TOML file")
    parser.add_argument("--data", required=True, help="this firm's CSV or Excel file")
    parser.add_argument("--party", help="this firm's party index (or its name in the config)")
    parser.add_argument("--report-dir", help="write report.json/.csv/.html into this folder")
    parser.add_argument("--json", action="store_true",
                        help="print the firm's report as JSON on stdout")
    parser.add_argument("--json-out", help="write the round outcome (released statistics) here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--cert", help="this party's TLS certificate (overrides the config)")
    parser.add_argument("--key", help="this party's TLS private key (overrides the config)")
    parser.add_argument("--ca", help="the consortium's CA certificate (overrides the config)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="abort the whole run after this many seconds (default 1800)")
    parser.add_argument("--connect-timeout", type=float, default=120.0,
                        help="seconds to wait for the other parties to connect (default 120)")
    parser.add_argument("--costs", action="store_true",
                        help="print this party's deterministic costs (rounds, bytes, openings, "
                             "comparisons) after the round; every party must pass it")
    parser.add_argument("--allow-single-party", action="store_true",
                        help="allow a 1-party local simulation (no secrecy; for testing)")
    parser.add_argument("--insecure", action="store_true",
                        help="allow a round across machines without TLS (only on a network you "
                             "trust: MPyC unpickles what the other parties send)")
    return parser


def with_statistics(consortium: Consortium, metrics: Sequence[Metric]) -> Consortium:
    """The same consortium releasing ``metrics`` for every KPI (for the single-purpose programs).

    Every party must run the same program: the statistics are part of the hashed spec.
    """
    spec = consortium.spec
    new_spec = RoundSpec.create(spec.name, spec.kpis, [tuple(metrics)] * len(spec.kpis),
                                min_contributions=spec.min_contributions,
                                radix_bits=spec.radix_bits, threshold=spec.threshold,
                                max_firm_share=spec.max_firm_share)
    return replace(consortium, spec=new_spec)


def _tls_files(args: argparse.Namespace, consortium: Consortium, index: int | None
               ) -> TlsFiles | None:
    entry = consortium.parties[index] if index is not None and index < len(
        consortium.parties) else None
    cert = Path(args.cert) if args.cert else entry.cert if entry else None
    key = Path(args.key) if args.key else entry.key if entry else None
    ca = Path(args.ca) if args.ca else consortium.tls_ca
    if cert is None and key is None and ca is None:
        return None  # MPyC's own layout in the working directory
    if cert is None or key is None or ca is None:
        missing = [n for n, v in (("certificate (--cert or cert =)", cert),
                                  ("private key (--key or key =)", key),
                                  ("CA certificate (--ca or [tls] ca =)", ca)) if v is None]
        raise ConfigError(f"TLS is on but this party's {', '.join(missing)} is not configured")
    return TlsFiles(cert.resolve(), key.resolve(), ca.resolve())


class _Progress:
    """One line per completed phase on stderr."""

    def __init__(self, who: str, quiet: bool) -> None:
        self.who = who
        self.quiet = quiet
        self.started = time.perf_counter()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"[{self.who}] {text}", file=sys.stderr, flush=True)

    def phase(self, name: str, seconds: float) -> None:
        if name != "total":
            self.say(f"{name:<28}{seconds:8.2f} s")


def _summary(report: dict[str, Any]) -> str:
    lines = [f"{report['round']['name']}: results for {report['round']['firm']}"]
    for kpi in report["kpis"]:
        released = ", ".join(
            f"{name} {format_value(item['value_float'], kpi['unit'], kpi['decimals'])}"
            if item["status"] == "released" else f"{name} {item['status']}"
            for name, item in kpi["statistics"].items() if item["kind"] != "count")
        lines.append(f"  {kpi['title']}: {kpi['count']} contributions; {released}")
        for entry in kpi["own"]["rows"]:
            gap = entry["gaps"]["median"]
            where = "" if gap is None else f", {gap['position']} the median"
            if entry["rank"] is not None:
                where += f", rank {entry['rank']} of {entry['rank_of']}"
            if entry["band_label"]:
                where += f", {entry['band_label']}"
            value = "missing" if entry["missing"] else format_value(
                entry["value_float"], kpi["unit"], kpi["decimals"])
            lines.append(f"    you ({entry['label']}): {value}{where}")
    return "\n".join(lines)


def _load(args: argparse.Namespace, statistics: Sequence[Metric] | None,
          positions: bool | None) -> tuple[Consortium, TableCheck]:
    consortium = load_config(args.config)
    if statistics is not None:
        consortium = with_statistics(consortium, statistics)
    if positions is not None:
        consortium = replace(consortium,
                             positions=replace(consortium.positions, enabled=positions))
    check = check_frame(read_table(args.data), consortium.spec.kpis, source=args.data,
                        label_column=consortium.output.label_column)
    check.raise_if_invalid()
    return consortium, check


def _finish(args: argparse.Namespace, consortium: Consortium, check: TableCheck,
            outcome: RoundOutcome, report_dir: str | None, progress: _Progress,
            cost: costs.Costs | None) -> None:
    from smpc_bench.report.build import build_report, write_report  # matplotlib is loaded late

    if args.json_out:
        document = outcome_to_dict(outcome)
        if cost is not None:
            document["costs"] = cost.as_dict()
        write_text_atomic(args.json_out, json.dumps(document, indent=2) + "\n")
    positions = report_positions(outcome, consortium.positions, len(check.rows))
    report = build_report(outcome, consortium, check.rows, check.labels, positions=positions)
    if report_dir:
        written = write_report(report, report_dir, consortium.output.formats)
        progress.say(f"report written: {', '.join(str(p) for p in written)}")
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif not args.quiet and not args.json_out:
        print(_summary(report))


def _report_dir(given: str | None, consortium: Consortium, pid: int, firm: str,
                default_reports: bool) -> str | None:
    """Absolute report folder (resolved now: the TLS layout changes the working directory)."""
    if given is None and default_reports:
        from smpc_bench.report.build import firm_folder

        given = str(Path(consortium.output.directory) / firm_folder(pid, firm))
    return str(Path(given).resolve()) if given else None


def main(argv: list[str] | None = None, *, prog: str = "smpc_bench.cli.run",
         statistics: Sequence[Metric] | None = None, positions: bool | None = None,
         default_reports: bool = False, description: str | None = None) -> int:
    """Entry point; returns the process exit code.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
        prog: Program name for help and messages.
        statistics: Release these statistics for every KPI instead of the configured ones.
        positions: Compute each firm's private positions (True/False) instead of following
            ``[positions] enabled`` of the configuration.
        default_reports: Without ``--report-dir``, write the report files into
            ``<[output] directory>/<index>-<firm>/`` (``smpc-bench run``).
        description: Help text.
    """
    parser = _parser(prog, description or __doc__.split("\n\n")[0])
    # Take our flags out first: MPyC parses sys.argv when its runtime is imported, and it owns
    # -C/--config, so it would read our --config as its own party-configuration file.
    args, flags = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        consortium, check = _load(args, statistics, positions)
        tls = "--ssl" in flags or consortium.tls_ca is not None or args.ca is not None
        # MPyC logs to stdout: keep it out of --json output.
        flags, index = mpyc_flags(consortium, args.party, flags, tls=tls,
                                  quiet=args.quiet or args.json)
        tls_files = _tls_files(args, consortium, index) if tls else None
        if not tls and not args.insecure:
            _refuse_without_tls(flags)
    except (ConfigError, InputError) as error:  # the consortium file or the firm's data
        print(f"{prog}: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except ValueError as error:  # MPyC flags that do not fit the configuration
        print(f"{prog}: {error}", file=sys.stderr)
        return exit_codes.ERROR
    if args.json_out:
        args.json_out = str(Path(args.json_out).resolve())
    sys.argv = [sys.argv[0], *flags]
    mpc = driver.runtime()
    try:
        driver.check_party_count(len(mpc.parties), allow_local_simulation=args.allow_single_party)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    firm = (consortium.parties[mpc.pid].name if mpc.pid < len(consortium.parties)
            else f"party {mpc.pid}")
    progress = _Progress(f"party {mpc.pid}", args.quiet)
    report_dir = _report_dir(args.report_dir, consortium, mpc.pid, firm, default_reports)
    if len(mpc.parties) == 1:
        print(f"{prog}: LOCAL SIMULATION with 1 party: no secret sharing, no secrecy",
              file=sys.stderr)
    progress.say(f"{consortium.spec.name}: {firm}, party {mpc.pid} of {len(mpc.parties)}, "
                 f"{len(check.rows)} row(s), spec hash {consortium.spec.digest()[:12]}"
                 f"{', TLS' if tls else ''}")
    if len(mpc.parties) > 1:
        progress.say(describe(len(mpc.parties), mpc.threshold, will_use_prss(mpc)))
    progress.say(f"connecting to the other parties (waiting up to {args.connect_timeout:g} s)")
    log = driver.RunLog(on_phase=progress.phase)
    # A stalled party is the progress timeout's to catch: the per-phase timeouts stay longer.
    timeouts = Timeouts(connect=args.connect_timeout, exchange=max(
        Timeouts.exchange, 2.0 * consortium.spec.progress_timeout + 10))
    liveness.configure(names=tuple(p.name for p in consortium.parties), warn=progress.say)
    try:
        with mpyc_tls_layout(tls_files, mpc.pid) if tls else contextlib.nullcontext():
            settings = consortium.positions
            step = positions_step(settings) if settings.enabled else None
            tracking = costs.track() if args.costs else contextlib.nullcontext()
            with tracking as cost:
                outcome = driver.run(statistics_round(consortium.spec, check.rows,
                                                      timeouts=timeouts, log=log, private=step,
                                                      private_terms=settings.terms()),
                                     timeout=args.timeout)
    except FileNotFoundError as error:  # TLS files
        print(f"{prog}: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except driver.PartyError as error:
        hint = ""
        if isinstance(error, driver.PartyTimeoutError) and error.phase == "connecting":
            hint = ("; check the addresses, that every party has started, firewalls, and that "
                    "either all parties use TLS (--ssl, same CA) or none")
        _failed(prog, f"{error}{hint}", error, report_dir, mpc.pid, log)
        return error.exit_code
    except OSError as error:  # e.g. this party's port is taken
        _failed(prog, _os_error_text(error, mpc), error, report_dir, mpc.pid, log)
        return exit_codes.ERROR
    except Exception as error:  # noqa: BLE001 - a bug: one line here, the traceback in the log
        _failed(prog, f"the round stopped with an internal error: {error or type(error).__name__}",
                error, report_dir, mpc.pid, log)
        return exit_codes.ERROR
    pause = liveness.longest_pause()  # what the progress timeout must stay well above
    progress.say(f"done in {time.perf_counter() - progress.started:.2f} s" + (
        f" (longest local step without a pause: {pause:.1f} s)" if pause >= 0.1 else ""))
    if cost is not None:
        # stderr, so that --json output on stdout stays one document.
        print(costs.format_costs(cost), file=sys.stderr, flush=True)
    try:
        _finish(args, consortium, check, outcome, report_dir, progress, cost)
    except Exception as error:  # noqa: BLE001 - e.g. a full disk: the earlier report is intact
        _failed(prog, f"the round completed but its results could not be written: {error}",
                error, report_dir, mpc.pid, log)
        return exit_codes.ERROR
    return 0


def _refuse_without_tls(flags: Sequence[str]) -> None:
    """A round across machines needs TLS: MPyC unpickles what its peers send."""
    remote = remote_addresses(flags)
    if remote:
        raise ConfigError(
            f"refusing to run without TLS: {', '.join(remote)} "
            f"{'is' if len(remote) == 1 else 'are'} not on this machine, and MPyC unpickles "
            "what the other parties send, so an unauthenticated peer could run code here. Set "
            "up TLS (a [tls] ca and each party's cert/key, made with `smpc-bench keygen "
            "--config`) or, on a network you trust, pass --insecure")


def _os_error_text(error: OSError, mpc: Any) -> str:
    if error.errno == errno.EADDRINUSE:
        port = mpc.parties[mpc.pid].port
        return (f"port {port} of this party is in use on this machine: another round, or an "
                "earlier run of this party, is still running (stop it), or the address under "
                "[[parties]] is wrong")
    return f"a network error stopped the round: {error}"


def _failed(prog: str, message: str, error: BaseException, report_dir: str | None, pid: int,
            log: driver.RunLog) -> None:
    report_failure(prog, message, log=failure_log_path(report_dir, pid), error=error,
                   connections=liveness.details(), timings=log.timings)


if __name__ == "__main__":
    sys.exit(main())
