"""What every ``smpc-bench`` subcommand shares: common flags, progress lines, report folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smpc_bench.inputs.consortium import ConfigError, Consortium
from smpc_bench.spec.kpi import InputError

__all__ = ["BAD_INPUT_ERRORS", "USER_ERRORS", "add_common", "data_files", "firm_folder", "say",
           "short"]

#: The consortium file or a firm's data file cannot be used: exit code ``BAD_INPUT``.
BAD_INPUT_ERRORS = (ConfigError, InputError)
#: Errors whose message is meant for the user: printed as one line, never as a traceback.
USER_ERRORS = (ConfigError, InputError, FileNotFoundError, FileExistsError, RuntimeError)


def add_common(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--json``, which every subcommand takes."""
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def say(quiet: bool, text: str) -> None:
    """A progress line on stderr, unless ``quiet``."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def firm_folder(index: int, consortium: Consortium) -> str:
    """Report folder name of party ``index``: ``0-bakkerij-alfa``."""
    from smpc_bench.report.build import firm_folder as folder_name  # matplotlib loads late

    name = consortium.parties[index].name if index < len(consortium.parties) else "party"
    return folder_name(index, name)


def data_files(consortium: Consortium, data_dir: Path) -> list[Path]:
    """Every firm's data file in ``data_dir`` (``data =`` under ``[[parties]]``), checked."""
    if not consortium.parties:
        raise ConfigError("the configuration lists no [[parties]]; simulate needs one entry "
                          "per firm with data = \"file.csv\"")
    files = []
    for i, party in enumerate(consortium.parties):
        path = data_dir / (party.data or f"party{i}.csv")
        if not path.exists():
            raise InputError(f"data file for {party.name} not found: {path}")
        files.append(path)
    if len(files) < 3:
        raise ConfigError(
            f"{len(files)} parties configured: at least 3 are needed for secrecy "
            "(with 2, MPyC's threshold is 0 and every party sees the other's data)"
        )
    return files


def short(value: float | int | None) -> str:
    """A number for a table cell: ``1,234.5``; ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.4f}".rstrip("0").rstrip(".")
