"""Reading a firm's file: size limits, zip bombs, odd file kinds and the one error type."""

from __future__ import annotations

import io
import os
import pickle
import struct
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from smpc_bench.inputs.file_errors import DataFileError, column_letter, place
from smpc_bench.inputs.firm_data import ReadLimits, check_frame, read_table, rows_from_frame
from smpc_bench.spec.exit_codes import BAD_INPUT
from smpc_bench.spec.kpi import InputError, KpiSpec
from tests.corpus.make_corpus import minimal_xlsx, sheet_xml

KPIS = (
    KpiSpec("revenue", 0, 5_000_000, 0, "EUR"),
    KpiSpec("margin", 0, 100, 1, "%"),
)
GOOD = "shop,revenue,margin\nNorth,830000,58.9\nSouth,412000,55.3\n"


def _refused(path: Path, **kwargs: object) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        check_frame(read_table(path, **kwargs), KPIS, source=str(path)).raise_if_invalid()
    assert str(caught.value).startswith(str(path))
    return caught.value


def _peak_bytes(action: object) -> int:
    tracemalloc.start()
    try:
        action()  # type: ignore[operator]
    except DataFileError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name", ["big.csv", "big.xlsx"])
def test_a_1_gb_file_is_refused_by_its_size_without_reading_it(tmp_path: Path, name: str
                                                                ) -> None:
    path = tmp_path / name
    with path.open("wb") as file:
        file.truncate(1 << 30)  # sparse: no disk used, nothing to read
    error = _refused(path)
    assert "the file is 1.0 GB; a data file may be at most 16.0 MB" in str(error)
    assert _peak_bytes(lambda: read_table(path)) < 1_000_000


def test_the_size_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "firm.csv"
    path.write_text(GOOD, encoding="utf-8")
    error = _refused(path, limits=ReadLimits(max_file_bytes=20))
    assert "may be at most 20 bytes" in str(error)
    assert len(read_table(path, limits=ReadLimits(max_file_bytes=len(GOOD)))) == 2


def test_a_real_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(200 << 20))  # 200 MB of zeros
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1_000_000
    assert "would expand to 200 MB when opened; at most 64 MB" in str(_refused(path))
    assert _peak_bytes(lambda: read_table(path)) < 5 * path.stat().st_size + 1_000_000


def _lying_sizes(data: bytes, name: str, size: int) -> bytes:
    """Declare ``size`` bytes for part ``name`` in both headers (the data stays larger)."""
    out = bytearray(data)
    for signature, offset, name_at in ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)):
        at = out.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", out, at + 28 if signature == b"PK\x01\x02"
                                        else at + 26)[0]
            if out[at + name_at:at + name_at + length] == name.encode():
                struct.pack_into("<I", out, at + offset, size)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_a_zip_that_lies_about_its_sizes_is_damaged_not_unpacked(tmp_path: Path) -> None:
    rows = [["revenue", "margin"]] + [[1, 2]] * 100_000
    buffer = io.BytesIO()
    workbook = minimal_xlsx([("Data", sheet_xml(rows))])
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    path = tmp_path / "liar.xlsx"
    path.write_bytes(_lying_sizes(buffer.getvalue(), "xl/worksheets/sheet1.xml", 5000))
    assert "the workbook is damaged" in str(_refused(path))


def test_limits_on_cells_columns_and_line_length(tmp_path: Path) -> None:
    path = tmp_path / "firm.csv"
    path.write_text("revenue,margin\n" + "1,2\n" * 50, encoding="utf-8")
    error = _refused(path, limits=ReadLimits(max_cells=60))
    assert "more than 60 cells" in str(error) and error.line == 32
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert "this line has 3 columns; at most 2" in str(
        _refused(wide, limits=ReadLimits(max_columns=2)))
    long = tmp_path / "long.csv"
    long.write_text("revenue,margin\n" + "1" * 300_000 + ",2\n", encoding="utf-8")
    error = _refused(long)
    assert "this line is 300,003 characters long; at most 200,000" in str(error)
    assert error.line == 2


def test_a_folder_a_missing_file_and_a_pipe(tmp_path: Path) -> None:
    assert "is a folder" in str(_refused(tmp_path))
    assert "not found" in str(_refused(tmp_path / "nope.csv"))
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    assert "not a regular file" in str(_refused(pipe))  # and it did not block


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "firm.csv"
    path.write_text(GOOD, encoding="utf-8")
    path.chmod(0)
    if os.geteuid() == 0:
        # Root reads any file whatever its mode (CI runs as root): refuse it as the kernel
        # refuses anyone else, so that the reader's handling of it is what is tested.
        real_open = os.open

        def refusing_open(file, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            if os.fspath(file) == str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
    assert "cannot be opened" in str(_refused(path))


def test_the_error_type_and_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "firm.csv"
    path.write_bytes(b'revenue,margin\n1,2\n"3,4\n')
    error = _refused(path)
    assert isinstance(error, InputError) and isinstance(error, ValueError)
    assert (error.path, error.line, error.column) == (str(path), 3, None)
    assert error.message.startswith('a quotation mark (") opens a text')
    assert str(error) == f"{path}, line 3: {error.message}" and "\n" not in str(error)
    assert error.problems == ()
    copy = pickle.loads(pickle.dumps(error))  # e.g. passed between processes
    assert (str(copy), copy.line, copy.path) == (str(error), 3, str(path))
    assert BAD_INPUT == 7  # the code the CLI exits with for this error (see the README)


def test_check_problems_raise_the_same_type(tmp_path: Path) -> None:
    path = tmp_path / "firm.csv"
    path.write_text("revenue,margin\n1,abc\n2,xyz\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        rows_from_frame(read_table(path), KPIS, source="firm.csv")
    assert caught.value.problems == ("line 2, column 'margin': 'abc' is not a number",
                                     "line 3, column 'margin': 'xyz' is not a number")
    assert str(caught.value).startswith("firm.csv: 2 problems found:\n  - line 2")


def test_places_are_named_as_a_spreadsheet_shows_them() -> None:
    assert [column_letter(c) for c in (1, 3, 26, 27, 702, 703, 16384)] == [
        "A", "C", "Z", "AA", "ZZ", "AAA", "XFD"]
    assert place(7, 3, cell=True) == "cell C7"
    assert place(7, 3, cell=False) == "line 7, column C"
    assert place(7, None, cell=True) == "row 7"
    assert place(None, None, cell=False) == ""


def test_workbook_problems_name_the_cell_and_rows_are_named_by_row(tmp_path: Path) -> None:
    path = tmp_path / "firm.xlsx"
    frame = pd.DataFrame({"revenue": [830000, 412000], "margin": [58.9, "n.a."]})
    frame.to_excel(path, index=False, startrow=5)  # the header is row 6
    check = check_frame(read_table(path), KPIS, source="firm.xlsx")
    assert check.problems == ["cell B8 (column 'margin'): 'n.a.' is not a number"]
    assert check.labels == ["row 7", "row 8"]


def test_a_workbook_written_by_a_program_with_formulas_is_refused_by_cell(tmp_path: Path
                                                                          ) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["shop", "revenue", "margin", "note"])
    sheet.append(["North", 830000, "=B2/14000", "=A2"])  # no saved result: never computed
    path = tmp_path / "firm.xlsx"
    book.save(path)
    check = check_frame(read_table(path), KPIS, source="firm.xlsx")
    assert len(check.problems) == 1  # the formula in the note column does not matter
    assert check.problems[0].startswith("cell C2 (column 'margin'): this cell holds a formula "
                                        "whose result is not saved")
    assert any("2 cell(s) hold formulas" in w for w in check.warnings)


def test_workbooks_are_parsed_without_xml_entities() -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML  # defusedxml is a dependency: no entity expansion at all
