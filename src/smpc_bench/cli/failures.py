"""How a party program reports a failed round: one line on stderr, the details in a log file.

The line says what happened and what to do (the errors of :mod:`smpc_bench.engine.driver` and
:mod:`smpc_bench.engine.liveness` are written that way) and where the log is; the log holds
the traceback, what happened to each connection and the phases completed, for whoever
investigates.  Nothing in the log is secret: no data, no share, no key.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

__all__ = ["failure_log_path", "report_failure"]


def failure_log_path(report_dir: str | None, party: int) -> Path:
    """Where a failed round's details go: the report folder if it exists, else a temp file.

    The report folder is not created for it (a failed round leaves no new report folder).
    """
    if report_dir is not None and Path(report_dir).is_dir():
        return Path(report_dir) / f"failure-party{party}.log"
    descriptor, name = tempfile.mkstemp(prefix=f"smpc-bench-party{party}-", suffix=".log")
    with open(descriptor, "w", encoding="utf-8"):
        pass
    return Path(name)


def report_failure(prog: str, message: str, *, log: Path, error: BaseException | None = None,
                   connections: Sequence[str] = (),
                   timings: Sequence[tuple[str, float]] = ()) -> None:
    """Write the details to ``log`` and print the one line (with the log's path) on stderr."""
    lines = [f"{time.strftime('%Y-%m-%d %H:%M:%S')} {prog}: {message}", ""]
    if timings:
        lines += ["Phases completed:", *(f"  {name:<30}{seconds:8.2f} s"
                                         for name, seconds in timings), ""]
    if connections:
        lines += ["Connections:", *(f"  {line}" for line in connections), ""]
    if error is not None:
        lines += ["Traceback:", "".join(traceback.format_exception(error)).rstrip(), ""]
    try:
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        where = f" (details: {log})"
    except OSError:
        where = ""
    print(f"{prog}: {message}{where}", file=sys.stderr, flush=True)
