"""A table as read from a file, before any KPI check, and the limits every reader obeys.

Both readers (text files and workbooks) turn their file into positioned records, ``(line,
cells)``, and :func:`build_table` makes the table from them the same way: the first non-empty
record is the header, blank records are skipped, every data cell must sit under a named column,
and the limits below bound the memory and time a hostile file can cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from smpc_bench.inputs.file_errors import DataFileError, column_letter

__all__ = ["DEFAULT_LIMITS", "RawTable", "ReadLimits", "build_table", "is_blank"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds on a firm's data file; a file beyond any of them is refused, not read.

    A benchmark table has one row per shop and a few KPI columns: even a chain with 100,000
    shops fits well within these.  They exist so that a wrong or hostile file (a database dump,
    a zip bomb, a 1 GB log) costs neither the memory nor the time of the firm's computer.

    Attributes:
        max_file_bytes: Size of the file on disk (checked before anything is read).
        max_workbook_bytes: Total uncompressed size an Excel file declares for its parts
            (checked before the workbook is opened).
        max_cells: Cells of the table, counted while reading.
        max_columns: Columns of the table.
        max_line_chars: Characters of one line of a text file.
        max_sheet_rows: Rows of a worksheet, empty ones included (Excel's own limit).
    """

    max_file_bytes: int = 16 * _MIB
    max_workbook_bytes: int = 64 * _MIB
    max_cells: int = 2_000_000
    max_columns: int = 1_000
    max_line_chars: int = 200_000
    max_sheet_rows: int = 1_048_576


#: The limits used unless the caller passes others.
DEFAULT_LIMITS = ReadLimits()


@dataclass(frozen=True)
class RawTable:
    """A table read from a file: header names and cells exactly as written.

    Attributes:
        source: The file name used in messages.
        workbook: Read from an Excel workbook (places are cells, ``C7``) rather than from a
            text file (places are lines).
        header: Column names as written (stripped), one per named column; may repeat.
        columns: 1-based spreadsheet column of each named column.
        header_line: Line (or row) of the header.
        rows: Data rows, one cell per named column; ``None`` is an empty cell.
        lines: Line (or row) of each data row.
        unsaved_formulas: ``(row, column)`` of formula cells whose result is not in the file.
        notes: Things the firm should know about how the file was read (shown as warnings).
    """

    source: str
    workbook: bool
    header: tuple[str, ...]
    columns: tuple[int, ...]
    header_line: int
    rows: list[list[object]]
    lines: list[int]
    unsaved_formulas: frozenset[tuple[int, int]] = frozenset()
    notes: tuple[str, ...] = field(default=())


def is_blank(cell: object) -> bool:
    """Whether a cell is empty (nothing, or only spaces)."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header_name(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a workbook stores 2024 as 2024.0
    return "" if cell is None else str(cell).strip()


@dataclass
class _Stray:
    """Data cells outside the named columns: where the first is and how many lines have one."""

    line: int = 0
    column: int = 0
    lines: int = 0


def build_table(source: str, records: Iterable[tuple[int, Sequence[object]]], *,
                workbook: bool, limits: ReadLimits, notes: Sequence[str] = (),
                unsaved_formulas: frozenset[tuple[int, int]] = frozenset(),
                delimiter_hint: str = "",
                empty: str = "the file is empty (no line with any text)") -> RawTable:
    """Make the table from positioned records (``cells[0]`` is column A).

    Args:
        source: File name for messages.
        records: ``(line, cells)`` in file order.
        workbook: Places are cells (``C7``), not lines.
        limits: Columns and cells allowed.
        notes: Warnings to pass on.
        unsaved_formulas: See :class:`RawTable`.
        delimiter_hint: The separator of a text file (for the hint on decimal commas).
        empty: The message when no record holds anything.

    Raises:
        DataFileError: No header, too many columns or cells, or a value under no column name.
    """
    header_line = 0
    names: list[str] = []
    positions: list[int] = []
    rows: list[list[object]] = []
    lines: list[int] = []
    cells = 0
    stray = _Stray()
    for line, record in records:
        width = len(record)
        while width and is_blank(record[width - 1]):
            width -= 1
        if width == 0:
            continue
        if width > limits.max_columns:
            raise DataFileError(
                source, f"this {'row' if workbook else 'line'} has {width:,} columns; at most "
                f"{limits.max_columns:,} are accepted. Keep only the columns of the agreed KPIs "
                "(and one naming each row)",
                line=line, cell=workbook)
        if not header_line:
            header_line = line
            names = [_header_name(c) for c in record[:width]]
            positions = [j for j, name in enumerate(names) if name]
            continue
        cells += width
        if cells > limits.max_cells:
            raise DataFileError(
                source, f"the table has more than {limits.max_cells:,} cells, more than a "
                "benchmark needs: keep only the KPI columns and one row per shop",
                line=line, cell=workbook)
        outside = [j for j in range(width) if (j >= len(names) or not names[j])
                   and not is_blank(record[j])]
        if outside:
            if not stray.lines:
                stray.line, stray.column = line, outside[0] + 1
            stray.lines += 1
            continue
        rows.append([record[j] if j < width and not is_blank(record[j]) else None
                     for j in positions])
        lines.append(line)
    if not header_line:
        raise DataFileError(source, empty)
    if stray.lines:
        raise _stray_error(source, stray, header_line, len(names), workbook, delimiter_hint)
    return RawTable(source, workbook, tuple(names[j] for j in positions),
                    tuple(j + 1 for j in positions), header_line, rows, lines,
                    unsaved_formulas, tuple(notes))


def _stray_error(source: str, stray: _Stray, header_line: int, width: int, workbook: bool,
                 delimiter: str) -> DataFileError:
    letter = column_letter(stray.column)
    more = f" ({stray.lines - 1:,} more lines like it)" if stray.lines > 1 else ""
    if workbook:
        message = (f"this cell holds a value but column {letter} has no name in the header "
                   f"(row {header_line}){more}: give the column a name, or delete the value")
    else:
        message = (f"this line has more cells than the first line (line {header_line}) has "
                   f"column names{more}: every value needs a column name")
        if width and stray.column > width and delimiter == ",":
            message += (". If numbers are written with a decimal comma (61,5), separate the "
                        "columns with ';' instead of ',' (or save the file again from Excel)")
    return DataFileError(source, message, line=stray.line, column=stray.column, cell=workbook)
