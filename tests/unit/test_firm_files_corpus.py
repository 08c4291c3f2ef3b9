"""Every file of the broken-file corpus is read, or refused with its own clear message.

The corpus (tests/corpus/firm_files/) is made by tests/corpus/make_corpus.py; the first test
checks that the committed files are exactly what the script makes.
"""

from __future__ import annotations

import pytest

from smpc_bench.inputs.file_errors import DataFileError
from smpc_bench.inputs.firm_data import check_frame, read_table
from smpc_bench.spec.kpi import KpiSpec
from tests.corpus.make_corpus import CASES, CORPUS, OK, Case

KPIS = (
    KpiSpec("revenue", 0, 5_000_000, 0, "EUR"),
    KpiSpec("margin", 0, 100, 1, "%"),
)


def test_committed_corpus_is_what_the_script_makes() -> None:
    on_disk = {p.name: p.read_bytes() for p in CORPUS.iterdir()}
    assert on_disk == {case.name: case.data for case in CASES}, (
        "run python tests/corpus/make_corpus.py")
    assert max(map(len, on_disk.values())) < 100_000  # nothing large in the repository


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_corpus_file(case: Case) -> None:
    path = CORPUS / case.name
    source = str(path)
    if case.expect == OK:
        check = check_frame(read_table(path), KPIS, source=source)
        assert check.problems == []
        assert check.rows == case.rows
        if case.warning:
            assert any(case.warning in w for w in check.warnings), check.warnings
        return
    with pytest.raises(DataFileError) as caught:
        check_frame(read_table(path), KPIS, source=source).raise_if_invalid()
    error = caught.value
    message = str(error)
    assert message.startswith(source), message
    assert case.expect in message, message
    assert error.path == source
    if case.line is not None or case.column is not None:
        assert (error.line, error.column) == (case.line, case.column), message
    assert "Traceback" not in message and "Error:" not in message


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)
    assert sum(case.expect == OK for case in CASES) >= 10
