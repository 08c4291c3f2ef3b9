"""Read the table of an Excel workbook (``.xlsx``, ``.xlsm``) without trusting the file.

Before openpyxl sees the file, the zip archive is checked on its own declared sizes: the parts
may expand to at most :attr:`ReadLimits.max_workbook_bytes` together (a zip bomb is refused
unopened; Python's zip reader never returns more than a part declares, so the declaration
bounds the memory), no part is encrypted, and the archive is a workbook at all.  Macros are
never run (openpyxl does not execute anything) and links to other files are not followed.

Which sheet: the first visible worksheet, in tab order; the firm is told when there are others.

Formulas: a formula cell is read as the result Excel saved with the file (what the firm saw on
screen when it saved), with a warning that formulas were used.  A formula cell with no saved
result (a file written by a script and never opened in Excel) is reported by cell when it lies
in a KPI column: its value is unknown, and computing formulas ourselves would be guessing.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from smpc_bench.inputs.file_errors import DataFileError
from smpc_bench.inputs.raw_table import RawTable, ReadLimits, build_table

__all__ = ["MAX_ARCHIVE_PARTS", "check_archive", "read_workbook"]

#: A workbook of one sheet has about ten parts; thousands mean something else.
MAX_ARCHIVE_PARTS = 10_000
_WORKBOOK_PART = "xl/workbook.xml"
_T = TypeVar("_T")
_SAVE_AGAIN = ("open it in Excel and save it again as 'Excel Workbook (.xlsx)', or as "
               "'CSV UTF-8'")
_OTHER_ARCHIVES = (
    ("xl/workbook.bin", "an Excel binary workbook (.xlsb), which cannot be read"),
    ("word/document.xml", "a Word document, not a workbook"),
    ("ppt/presentation.xml", "a PowerPoint presentation, not a workbook"),
    ("content.xml", "an OpenDocument file (LibreOffice), which cannot be read"),
)


def _size(n: int) -> str:
    return f"{n / 1024 ** 3:.1f} GB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.0f} MB"


def check_archive(source: str, data: bytes, limits: ReadLimits) -> None:
    """Refuse an archive that is damaged, not a workbook, encrypted, or expands too much.

    Raises:
        DataFileError: Saying which of these it is and what to do.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception:  # any failure of the zip reader on a hostile file is "damaged"
        raise DataFileError(source, f"the workbook is damaged (not a readable zip archive): "
                            f"{_SAVE_AGAIN}") from None
    if len(parts) > MAX_ARCHIVE_PARTS:
        raise DataFileError(source, f"the file holds {len(parts):,} parts, far more than a "
                            f"workbook has: {_SAVE_AGAIN}")
    declared = sum(part.file_size for part in parts)
    if declared > limits.max_workbook_bytes:
        raise DataFileError(
            source, f"the workbook would expand to {_size(declared)} when opened; at most "
            f"{_size(limits.max_workbook_bytes)} are accepted (a normal table of KPIs needs "
            "far less). Keep only the table on one sheet, or save it as 'CSV UTF-8'")
    if any(part.flag_bits & 0x1 for part in parts):
        raise DataFileError(source, "the workbook is encrypted: remove the password in Excel, "
                            "then save it again")
    if any(part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
           for part in parts):
        raise DataFileError(source, f"the workbook is compressed in an unusual way: "
                            f"{_SAVE_AGAIN}")
    names = {part.filename for part in parts}
    if _WORKBOOK_PART not in names:
        kind = next((what for name, what in _OTHER_ARCHIVES if name in names),
                    "a zip archive, not an Excel workbook")
        raise DataFileError(source, f"the file is {kind}: give your table as an Excel "
                            "workbook (.xlsx) or a CSV file")


def _load(data: bytes, *, data_only: bool) -> Any:
    import openpyxl  # here, not at import: `check` without a workbook never needs it

    return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only,
                                  keep_links=False)


def _damaged(source: str, error: BaseException) -> DataFileError:
    causes = [error]
    while causes[-1].__context__ is not None and len(causes) < 5:
        causes.append(causes[-1].__context__)
    detail = " <- ".join(f"{type(e).__name__}: {e}".replace("\n", " ") for e in causes)
    return DataFileError(source, "the workbook is damaged or uses something this program "
                         f"cannot read: {_SAVE_AGAIN}", detail=detail)


@contextmanager
def _library(source: str) -> Iterator[None]:
    """Turn any failure of openpyxl on this file into "damaged".

    Only around openpyxl's own calls, so that a mistake in this module is not hidden the same way.
    """
    try:
        yield
    except DataFileError:
        raise
    except Exception as error:  # a hostile file may break openpyxl in any way
        raise _damaged(source, error) from None


def _guarded(source: str, rows: Iterator[_T]) -> Iterator[_T]:
    while True:
        with _library(source):
            try:
                row = next(rows)
            except StopIteration:
                return
        yield row


def _rows(source: str, values_sheet: Any, formula_sheet: Any, limits: ReadLimits,
          unsaved: set[tuple[int, int]], formulas: list[int]) -> Iterator[tuple[int, list[object]]]:
    """Rows of the sheet, numbered as Excel numbers them, with formulas noted on the way."""
    with _library(source):
        # The declared dimension of a sheet may lie; without it openpyxl pads only to each
        # row's last cell, and the counters below stop a sheet of a million padded rows early.
        values_sheet.reset_dimensions()
        formula_sheet.reset_dimensions()
        pairs = zip(values_sheet.iter_rows(values_only=True), formula_sheet.iter_rows(),
                    strict=False)
    scanned = 0
    for number, (values, cells) in enumerate(_guarded(source, pairs), start=1):
        scanned += len(values) + 1
        if number > limits.max_sheet_rows or scanned > 10 * limits.max_cells:
            raise DataFileError(source, "the sheet is far larger than a table of KPIs: keep "
                                "only the table, or save it as 'CSV UTF-8'", line=number,
                                cell=True)
        row = list(values)
        for j, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                formulas[0] += 1
                if j < len(row) and row[j] is None:
                    unsaved.add((number, j + 1))
        yield number, row


def _sheet_choice(source: str, book: Any) -> tuple[int, str, list[str]]:
    """Index and title of the first visible worksheet, and the names of the other sheets."""
    with _library(source):
        states = [str(sheet.sheet_state) for sheet in book.worksheets]
        titles = [str(sheet.title) for sheet in book.worksheets]
        names = [str(name) for name in book.sheetnames]
    visible = [i for i, state in enumerate(states) if state == "visible"]
    if not visible:
        raise DataFileError(source, "the workbook has no visible worksheet: show the sheet "
                            "with your table (or save it as 'CSV UTF-8')")
    index = visible[0]
    return index, titles[index], [name for name in names if name != titles[index]]


def _read(source: str, data: bytes, limits: ReadLimits) -> RawTable:
    with _library(source):
        values_book = _load(data, data_only=True)
    try:
        with _library(source):
            formula_book = _load(data, data_only=False)
        try:
            index, title, others = _sheet_choice(source, values_book)
            notes = []
            if others:
                listed = ", ".join(repr(name) for name in others[:5])
                more = f" and {len(others) - 5} more" if len(others) > 5 else ""
                notes.append(f"the workbook has {len(others) + 1} sheets; only the first "
                             f"visible one, {title!r}, is read (not {listed}{more})")
            unsaved: set[tuple[int, int]] = set()
            formulas = [0]
            with _library(source):
                sheets = (values_book.worksheets[index], formula_book.worksheets[index])
            table = build_table(
                source, _rows(source, *sheets, limits, unsaved, formulas),
                workbook=True, limits=limits, notes=notes,
                empty=f"the sheet {title!r} (the first visible one, which is the one read) is "
                      "empty: put your table on it, or move the sheet with your table to the "
                      "front")
        finally:
            formula_book.close()
    finally:
        values_book.close()
    if formulas[0]:
        notes.append(f"{formulas[0]:,} cell(s) hold formulas: the results Excel saved with the "
                     "file are used, as you saw them when you saved it")
    return replace(table, unsaved_formulas=frozenset(unsaved), notes=tuple(notes))


def read_workbook(source: str, data: bytes, limits: ReadLimits) -> RawTable:
    """The table on the first visible sheet of an Excel workbook (the file's bytes).

    Raises:
        DataFileError: For every way the workbook cannot be read, naming the cell or row where
            it applies.
    """
    check_archive(source, data, limits)
    # openpyxl warns (UserWarning) about features it drops, such as data validation: they do
    # not change the values read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read(source, data, limits)
