"""Fuzzing the reading of a firm's file: any bytes give a table or the one documented error.

Four generators, 300 examples each, derandomized (a failure replays on every machine): arbitrary
bytes under the names a firm might use, arbitrary text in every encoding Excel writes, CSV files
with a valid header and mutated rows, and workbooks with tricky cells, damaged bytes or damaged
XML.  For each, reading and checking must either give a valid table, or raise
:class:`DataFileError` naming the file: never another exception, never a hang.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpc_bench.inputs.file_errors import DataFileError
from smpc_bench.inputs.firm_data import check_frame, read_table
from smpc_bench.spec.kpi import KpiSpec
from tests.corpus.make_corpus import minimal_xlsx, sheet_xml

# Bounded for CI: the whole module takes about 10 s; the limit only guards against a hang.
pytestmark = pytest.mark.timeout(120)

KPIS = (
    KpiSpec("revenue", 0, 5_000_000, 0, "EUR"),
    KpiSpec("margin", 0, 100, 1, "%"),
)
#: Examples per generator; 4 generators, so 1,200 fuzzed files per run.
EXAMPLES = 300
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                print_blob=True)

_TOKENS = ["", " ", "830000", "58.9", "58,9", "61,5 %", "€8.45", "1,250", "1.250.000,50",
           "1e400", "-1e400", "1e-400", "inf", "-inf", "nan", "NaN", "NA", "#DIV/0!", "#N/A",
           "1e308*10", "9" * 60, "0x1F", "\"", "\"\"", "\"a,b\"", ";", ",", "\t", "\x00",
           "\r", "\n", "\f", "\u2028", "\ufeff", "ü", "=1+1", "'", "-", "+5", "5000001",
           "-0", "1_000", "١٢٣", "½", "Ⅻ"]
_SUFFIXES = [".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".dat", ""]
_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"]
#: Near-valid files are mostly in the encodings Excel writes, so that their rows get parsed.
_EXCEL_ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-8-sig", "cp1252", "utf-16"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _read_or_refuse(path: Path) -> None:
    """Read and check ``path``: a valid table, or DataFileError naming the file; else fail."""
    source = str(path)
    try:
        check = check_frame(read_table(path), KPIS, source=source)
        check.raise_if_invalid()
    except DataFileError as error:
        assert str(error).startswith(source)
        assert error.path == source
        assert str(error).strip()
        return
    assert len(check.labels) == len(check.rows)
    for row in check.rows:
        assert len(row) == len(KPIS)
        for kpi, value in zip(KPIS, row, strict=True):
            if value is not None:
                kpi.encode_one(value)  # every accepted value is in range and encodable


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(_SUFFIXES))
def test_fuzz_arbitrary_bytes(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(data)
    _read_or_refuse(path)


@FUZZ
@given(text=st.text(max_size=400), encoding=st.sampled_from(_ENCODINGS),
       suffix=st.sampled_from([".csv", ".txt", ".xlsx"]))
def test_fuzz_arbitrary_text(folder: Path, text: str, encoding: str, suffix: str) -> None:
    path = folder / f"text{suffix}"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _read_or_refuse(path)


_cells = st.one_of(st.sampled_from(_TOKENS), st.text(max_size=8),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str),
                   st.floats().map(repr), st.integers().map(str))


@st.composite
def _near_valid_csv(draw: st.DrawFn) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(st.sampled_from([["shop", "revenue", "margin"], ["revenue", "margin"],
                                   ["Revenue ", "MARGIN", "notes"]]))
    rows = draw(st.lists(st.lists(_cells, min_size=0, max_size=len(header) + 2), min_size=1,
                         max_size=12))
    if draw(st.booleans()):  # quote some cells, as a spreadsheet does
        rows = [['"' + c.replace('"', '""') + '"' if draw(st.booleans()) else c for c in row]
                for row in rows]
    text = newline.join(delimiter.join(row) for row in [header, *rows]) + newline
    if text and draw(st.booleans()):  # one mutation anywhere: an inserted or deleted character
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["", '"', delimiter, "\x00", "\n"])) + text[at + 1:]
    encoding = draw(st.sampled_from(_EXCEL_ENCODINGS))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=_near_valid_csv(), suffix=st.sampled_from([".csv", ".txt"]))
def test_fuzz_near_valid_csv(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"near{suffix}"
    path.write_bytes(data)
    _read_or_refuse(path)


#: Text a workbook can hold (XML has no control characters, so Excel writes none).
_xml_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
_book_cells = st.one_of(
    st.none(), st.sampled_from([t for t in _TOKENS if t.isprintable()]), _xml_text,
    st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(['<c r="B2"><v>1e400</v></c>', '<c r="C9" t="e"><v>#REF!</v></c>',
                     '<c r="XFD3"><v>1</v></c>', '<c r="B2"><f>A1*2</f></c>',
                     '<c r="C2"><f>B2/3</f><v>12.5</v></c>', '<c><v>3</v></c>',
                     '<c r="B3" t="str"><f>A1</f><v>text</v></c>', '<c r="D2" s="3"/>']))
#: Cells openpyxl itself cannot read (one per damaged workbook, not in every one).
_POISON = ['<c r="B2" t="d"><v>2026-13-45</v></c>', '<c r="A1" t="s"><v>7</v></c>',
           '<c r="ZZZZ9"><v>1</v></c>', '<c r="A0"><v>1</v></c>', '<c r="B2"><v>inf</v></c>']


@st.composite
def _near_valid_workbook(draw: st.DrawFn) -> bytes:
    header: list[object] = list(draw(st.sampled_from([["shop", "revenue", "margin"],
                                                      ["revenue", "margin"], [None, "revenue",
                                                                              "margin"]])))
    rows: list[list[object]] = draw(st.lists(st.lists(_book_cells, max_size=5), min_size=1,
                                             max_size=6))
    damage = draw(st.sampled_from(["none", "none", "cell", "xml", "byte", "truncate"]))
    if damage == "cell":
        rows.append([draw(st.sampled_from(_POISON))])
    xml = sheet_xml([header, *rows], first_row=draw(st.integers(1, 3)))
    if damage == "xml":
        at = draw(st.integers(0, len(xml) - 1))
        junk = draw(st.sampled_from(["<", "&", "\x00", "]]>", '<row r="x">', "<c/>"]))
        xml = xml[:at] + junk + xml[at:]
    data = minimal_xlsx([("Data", xml), ("Other", sheet_xml([["x"]]))])
    if damage == "byte":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    elif damage == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    return data


@FUZZ
@given(data=_near_valid_workbook(), suffix=st.sampled_from([".xlsx", ".xlsm", ".dat"]))
def test_fuzz_near_valid_workbook(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"book{suffix}"
    path.write_bytes(data)
    _read_or_refuse(path)


def test_the_workbook_generator_makes_readable_workbooks(folder: Path) -> None:
    """The fuzzed workbooks start valid, so damage is what the workbook test explores."""
    path = folder / "plain.xlsx"
    path.write_bytes(minimal_xlsx([("Data", sheet_xml([["revenue", "margin"], [1, 2.5]]))]))
    assert zipfile.is_zipfile(path)
    check = check_frame(read_table(path), KPIS, source=str(path))
    assert check.ok and check.rows == [[1, 2.5]]
