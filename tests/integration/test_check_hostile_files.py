"""`smpc-bench check` on every file of the broken-file corpus, as a firm would run it.

The readers' own tests (tests/unit/test_firm_files_corpus.py) check the error objects; this one
checks what a person sees: the real command in a fresh interpreter exits with the documented
code, prints one line that names the file, and never a traceback.  All corpus files go through
one process (``check`` accepts one file at a time, so a small driver calls the command's entry
point per file with the output of each captured); a sample also runs as separate processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smpc_bench.spec import exit_codes
from tests.corpus.make_corpus import CASES, CORPUS, OK

CONFIG = """[consortium]
name = "Hostile files"

[[kpis]]
name = "revenue"
unit = "EUR"
lower = 0
upper = 5000000
decimals = 0

[[kpis]]
name = "margin"
unit = "%"
lower = 0
upper = 100
decimals = 1
"""

_DRIVER = """
import contextlib, io, json, sys
from smpc_bench.cli.main import main
results = {}
for path in sys.argv[2:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "--config", sys.argv[1], "--data", path])
    results[path] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "consortium.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _check_refusal(path: str, code: int, stdout: str, stderr: str, expect: str) -> None:
    """Exit code 7; the configuration's summary, then the file named once and what to fix.

    An unreadable file gets one line; a readable one with bad cells a line naming the file
    and one indented line per problem.  Never a traceback.
    """
    assert code == exit_codes.BAD_INPUT, (path, code, stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    assert stderr == "", stderr
    lines = stdout.splitlines()
    about_file = [i for i, line in enumerate(lines) if path in line]
    assert len(about_file) == 1, stdout
    rest = lines[about_file[0]:]
    assert expect in "\n".join(rest), stdout
    assert all(line.startswith("  ") for line in rest[1:]), stdout


def test_every_corpus_file_is_read_or_refused_in_one_line(config: Path) -> None:
    paths = [str(CORPUS / case.name) for case in CASES]
    proc = subprocess.run([sys.executable, "-c", _DRIVER, str(config), *paths],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    for case in CASES:
        code, stdout, stderr = results[str(CORPUS / case.name)]
        if case.expect == OK:
            assert code == exit_codes.OK, (case.name, stdout, stderr)
            assert "OK, " in stdout
        else:
            _check_refusal(str(CORPUS / case.name), code, stdout, stderr, case.expect)


@pytest.mark.parametrize("name", ["random_bytes.xlsx", "zip_not_workbook.xlsx",
                                  "quote_left_open.csv", "nul_bytes.csv"])
def test_the_command_itself_refuses_with_the_documented_code(config: Path, name: str) -> None:
    case = next(case for case in CASES if case.name == name)
    path = str(CORPUS / name)
    proc = subprocess.run([sys.executable, "-m", "smpc_bench.cli.main", "check", "--config",
                           str(config), "--data", path],
                          capture_output=True, text=True, timeout=120)
    _check_refusal(path, proc.returncode, proc.stdout, proc.stderr, case.expect)


def test_a_utf16_export_as_excel_writes_it_is_read(config: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "smpc_bench.cli.main", "check", "--config",
                           str(config), "--data", str(CORPUS / "utf16_le_bom.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == exit_codes.OK, proc.stderr
    assert "OK, " in proc.stdout
