"""The pandas adapter: read a firm's KPI table from CSV or Excel and check it locally.

Every check here runs on the firm's own machine before any MPC starts, with messages a
non-programmer can act on (which file, which line or cell, which column, what is wrong and how
to fix it).  :func:`read_table` refuses a file it cannot read; :func:`check_frame` collects
every problem and warning of a table it could read; :func:`rows_from_frame` raises on the
problems.  Every failure is a :class:`~smpc_bench.inputs.file_errors.DataFileError` (a
:class:`~smpc_bench.spec.kpi.InputError`) whose ``str()`` is the message to show.

Reading (encodings, separators, workbooks, size limits) is described in
:mod:`smpc_bench.inputs.file_formats`, :mod:`~smpc_bench.inputs.text_files` and
:mod:`~smpc_bench.inputs.workbooks`.

Accepted cell formats: plain numbers (``61.5``, ``1250000``), a decimal comma (``61,5``), the
KPI's own unit written next to the number (``61.5 %``, ``8.45 EUR``, ``EUR 8.45``, ``€8.45``),
and empty cells, ``NA`` or ``NaN`` for a missing value (allowed: a missing value is simply not
counted).  Refused with an explanation: text, another unit, thousands separators (``1,250,000``
or the ambiguous ``1,250``), values outside the agreed range, absurd numbers (``1e400``),
dates, Excel error values (``#DIV/0!``), and formulas whose result is not saved in the file.
"""

from __future__ import annotations

import datetime
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from smpc_bench.inputs.file_errors import MAX_LISTED_PROBLEMS, DataFileError, column_letter
from smpc_bench.inputs.file_formats import read_raw_table
from smpc_bench.inputs.raw_table import DEFAULT_LIMITS, RawTable, ReadLimits
from smpc_bench.spec.kpi import InputError, KpiSpec

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_LISTED_PROBLEMS",
    "DataFileError",
    "ReadLimits",
    "TableCheck",
    "check_frame",
    "clean_cell",
    "problem_message",
    "read_table",
    "rows_from_frame",
]

_CURRENCY_SYMBOLS = {"€": "eur", "$": "usd", "£": "gbp", "¥": "jpy", "chf": "chf"}
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")
#: A number with more digits, or a larger exponent, is no KPI value anyone meant (and 1e-999999
#: would cost minutes of exact arithmetic).
_MAX_DIGITS = 40
_MAX_EXPONENT = 40
_EXCEL_ERRORS = {"#null!", "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#n/a",
                 "#getting_data", "#spill!", "#calc!", "#field!", "#blocked!", "#unknown!"}
#: Key of the reading details (line numbers, cells, notes) in ``DataFrame.attrs``.
_LAYOUT_KEY = "smpc_bench.raw_table"
#: At most this many column names are listed in one message.
_LISTED_COLUMNS = 20


@dataclass
class TableCheck:
    """Result of checking one firm's table against the agreed KPIs.

    Attributes:
        source: File name used in messages.
        rows: Cleaned rows, one cell per KPI in configuration order (``None`` = missing).
        labels: A name per row (from the label column, else ``"line N"`` or ``"row N"``).
        problems: What must be fixed before the firm can take part.
        warnings: What looks suspicious but is accepted.
        ignored_columns: Columns that are not KPIs (never leave this machine).
        missing_cells: Number of empty cells in KPI columns.
    """

    source: str
    rows: list[list[object]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    missing_cells: int = 0

    @property
    def ok(self) -> bool:
        """Whether the table can be used."""
        return not self.problems

    def raise_if_invalid(self) -> None:
        """Raise :class:`DataFileError` listing the problems (at most a dozen), if any."""
        if self.problems:
            raise DataFileError.from_problems(self.source, self.problems)


def problem_message(source: str, problems: Sequence[str]) -> str:
    """One readable message for a list of problems in ``source``."""
    return str(DataFileError.from_problems(source, problems))


def read_table(path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS,
               source: str | None = None) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``, ``.tsv``) or Excel (``.xlsx``, ``.xlsm``) file of KPI rows.

    Cells are read as written (text from a CSV file, so that numbers keep exactly the digits
    written; numbers, text or dates from a workbook); empty cells are ``None``.  Where each row
    and column came from travels in ``frame.attrs`` for the messages of :func:`check_frame`.

    Args:
        path: The file.
        limits: Sizes beyond which the file is refused unread (default
            :data:`DEFAULT_LIMITS`: at most 16 MB on disk).
        source: Name of the file in messages (default: ``path`` as given).

    Raises:
        DataFileError: The file cannot be read; the message names it, and the line or cell
            where that applies.  No other exception escapes for any file content.
    """
    raw = read_raw_table(path, limits, source)
    frame = pd.DataFrame(raw.rows, columns=list(raw.header), dtype=object)
    frame.attrs[_LAYOUT_KEY] = replace(raw, rows=[])
    return frame


@dataclass(frozen=True)
class _Layout:
    """Where each row and column of a frame came from, for messages."""

    workbook: bool
    lines: Sequence[int]
    columns: Sequence[int]
    header_line: int
    unsaved: frozenset[tuple[int, int]]
    notes: Sequence[str]

    def cell(self, row: int, column: int, name: object) -> str:
        if self.workbook:
            return f"cell {column_letter(self.columns[column])}{self.lines[row]} " \
                   f"(column {str(name)!r})"
        return f"line {self.lines[row]}, column {str(name)!r}"

    def row_label(self, row: int) -> str:
        return f"{'row' if self.workbook else 'line'} {self.lines[row]}"

    def letters(self, positions: Sequence[int]) -> str:
        return ", ".join(column_letter(self.columns[j]) for j in positions)


def _layout(frame: pd.DataFrame) -> _Layout:
    raw = frame.attrs.get(_LAYOUT_KEY)
    if (isinstance(raw, RawTable) and len(raw.lines) == len(frame)
            and len(raw.columns) == len(frame.columns)):
        return _Layout(raw.workbook, raw.lines, raw.columns, raw.header_line,
                       raw.unsaved_formulas, raw.notes)
    # A frame built by hand: line 1 is the header, one line per row.
    return _Layout(False, range(2, len(frame) + 2), range(1, len(frame.columns) + 1), 1,
                   frozenset(), ())


def _normal(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _names(names: Sequence[object]) -> str:
    listed = ", ".join(map(str, names[:_LISTED_COLUMNS]))
    more = len(names) - _LISTED_COLUMNS
    return f"{listed} and {more} more" if more > 0 else listed


def _match_columns(frame: pd.DataFrame, kpis: Sequence[KpiSpec], layout: _Layout,
                   check: TableCheck) -> dict[str, int]:
    """Map each KPI to a column position, ignoring case, spaces and dashes in names.

    A KPI that two columns could mean (``revenue`` twice, or ``Revenue`` and ``revenue``) is a
    problem, not a guess: using the wrong one would send the wrong figures.
    """
    columns = list(frame.columns)
    normal = [_normal(c) for c in columns]
    chosen: dict[str, int] = {}
    missing: list[str] = []
    for kpi in kpis:
        candidates = [j for j, name in enumerate(normal) if name == _normal(kpi.name)]
        if len(candidates) == 1:
            chosen[kpi.name] = candidates[0]
        elif candidates:
            check.problems.append(
                f"column {kpi.name!r} appears {len(candidates)} times (columns "
                f"{layout.letters(candidates)}): keep one, and delete or rename the others")
        else:
            missing.append(kpi.name)
    if missing:
        wanted = ", ".join(k.name for k in kpis)
        header = (f"the header row (row {layout.header_line})" if layout.workbook
                  else "the first line" if layout.header_line == 1
                  else f"line {layout.header_line} (the first line with text)")
        if columns and all(_NUMBER.fullmatch(str(c).replace(" ", "")) for c in columns):
            check.problems.append(
                f"{header} holds numbers ({_names(columns[:3])}), not column names: add a "
                f"line above the table naming the columns: {wanted}")
        else:
            check.problems.append(
                f"column(s) {', '.join(missing)} missing; the file has "
                f"{_names(columns) or 'no columns'}. {header[0].upper()}{header[1:]} must name "
                f"the columns: {wanted}")
    used = set(chosen.values())
    check.ignored_columns = [str(c) for j, c in enumerate(columns) if j not in used]
    return chosen


def _unit_words(unit: str) -> set[str]:
    words = {unit.strip().casefold()} if unit.strip() else set()
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if code in words:
            words.add(symbol)
    if "%" in words:
        words.update({"percent", "pct"})
    return words


def _is_missing(cell: object) -> bool:
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return True
    return (isinstance(cell, numbers.Real) and not isinstance(cell, numbers.Integral)
            and math.isnan(float(cell)))


def _implausible(number: str) -> bool:
    """More digits or a larger exponent than any KPI value (checked before any arithmetic)."""
    mantissa, _, exponent = number.lower().partition("e")
    digits = sum(ch.isdigit() for ch in mantissa)
    exponent_digits = exponent.lstrip("+-")
    return (digits > _MAX_DIGITS or len(exponent_digits) > 3
            or (bool(exponent_digits) and int(exponent_digits) > _MAX_EXPONENT))


def clean_cell(cell: object, kpi: KpiSpec) -> tuple[object, str | None]:
    """Turn one cell into a number (or ``None`` for missing), or explain what is wrong.

    Returns:
        ``(value, problem)``: ``problem`` is None when the cell is usable.
    """
    if not isinstance(cell, str) and _is_missing(cell):
        return None, None
    if isinstance(cell, bool):
        return None, f"{cell!r} is a yes/no value, not a number"
    if isinstance(cell, datetime.date | datetime.time | datetime.timedelta):
        return None, f"{cell} is a date or time, not a number (check the cell's format)"
    if isinstance(cell, float) and math.isinf(cell):
        return None, "the value is infinitely large (or beyond 1e308): write a plain number"
    if not isinstance(cell, str):
        return cell, None
    text = cell.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if text.casefold() in ("", "na", "n/a", "nan", "-", "null", "none"):
        return None, None
    if text.casefold() in _EXCEL_ERRORS:
        return None, (f"{text!r} is an Excel error: the formula could not be computed. Fix "
                      "the formula, or empty the cell if the value is unknown")
    shown = text if len(text) <= 40 else text[:37] + "..."
    compact = text.replace(" ", "")
    if re.fullmatch(r"[+-]?\d[\d.,]*", compact) and compact.count(",") + compact.count(".") > 1:
        return None, (f"{shown!r} uses thousands separators; write the number without them "
                      "and with a decimal point, e.g. 1250000 or 1250000.50")
    match = _NUMBER.search(compact)
    number = match.group(0) if match else ""
    rest = (compact[:match.start()] + compact[match.end():]).casefold() if match else compact
    if not number:
        return None, f"{shown!r} is not a number"
    if rest and rest not in _unit_words(kpi.unit):
        unit = f"the agreed unit is {kpi.unit!r}" if kpi.unit else "no unit is expected"
        return None, f"{shown!r} is not a plain number ({unit})"
    if _implausible(number):
        return None, (f"{shown!r} has too many digits or too large an exponent to be a value "
                      f"of {kpi.name}: write it as a plain number with a decimal point")
    if "," in number:
        integer, _, fraction = number.partition(",")
        if len(fraction) == 3 and integer.lstrip("+-"):
            return None, (f"{text!r} is ambiguous: is ',' a decimal comma or a thousands "
                          "separator? Write it with a decimal point and no separators, e.g. "
                          f"{integer}.{fraction} or {integer}{fraction}")
        number = number.replace(",", ".")
    return number, None


def _label(value: object, default: str) -> str:
    return default if _is_missing(value) or not str(value).strip() else str(value).strip()


def _label_column(frame: pd.DataFrame, chosen: dict[str, int],
                  wanted: str | None) -> int | None:
    columns = list(frame.columns)
    if wanted is not None:
        return columns.index(wanted) if wanted in columns else None
    used = set(chosen.values())
    for j in range(len(columns)):
        if j in used:
            continue
        values = frame.iloc[:, j].dropna()
        if len(values) and all(isinstance(v, str) and _NUMBER.fullmatch(v.strip()) is None
                               for v in values):
            return j
    return None


_UNSAVED = ("this cell holds a formula whose result is not saved in the file (a file made by "
            "a program, never saved from Excel): open it in Excel and save it again, or paste "
            "the values in place of the formulas (if the cell should be empty, delete its "
            "formula)")


def _cell_value(kpi: KpiSpec, cell: object, unsaved: bool) -> tuple[object, str | None, bool]:
    """``(value, problem, rounded)`` of one KPI cell."""
    if unsaved:
        return None, _UNSAVED, False
    value, problem = clean_cell(cell, kpi)
    if problem is not None or value is None:
        return value, problem, False
    try:
        kpi.encode_one(value)
        return value, None, kpi.rounded(value) != _as_fraction(value)
    except InputError as error:
        return None, str(error).split(": ", 1)[-1], False


def _check_cells(frame: pd.DataFrame, kpis: Sequence[KpiSpec], chosen: dict[str, int],
                 layout: _Layout, check: TableCheck, label_column: int | None) -> None:
    used = [0] * len(kpis)
    rounded: list[str] = []
    names = list(frame.columns)
    for r, record in enumerate(frame.itertuples(index=False, name=None)):
        row: list[object] = []
        for k, kpi in enumerate(kpis):
            j = chosen[kpi.name]
            unsaved = (layout.lines[r], layout.columns[j]) in layout.unsaved
            value, problem, was_rounded = _cell_value(kpi, record[j], unsaved)
            if was_rounded:
                rounded.append(kpi.name)
            if problem is not None:
                check.problems.append(f"{layout.cell(r, j, names[j])}: {problem}")
                value = None
            elif value is None:
                check.missing_cells += 1
            else:
                used[k] += 1
            row.append(value)
        check.rows.append(row)
        default = layout.row_label(r)
        check.labels.append(default if label_column is None
                            else _label(record[label_column], default))
    for name in dict.fromkeys(rounded):
        kpi = next(k for k in kpis if k.name == name)
        check.warnings.append(f"column {name!r}: some values have more than {kpi.decimals} "
                              "decimal(s) and will be rounded")
    if not check.problems:
        for kpi, count in zip(kpis, used, strict=True):
            if count == 0:
                check.warnings.append(
                    f"column {kpi.name!r} has no values: your firm will not count as a "
                    f"contributor for {kpi.name}")
    _percent_warning(kpis, check)


def _as_fraction(value: object) -> Fraction:
    """The exact value of a cleaned cell (floats by their shortest repr, like the encoder)."""
    return Fraction(Decimal(repr(value) if isinstance(value, float) else str(value)))


def _percent_warning(kpis: Sequence[KpiSpec], check: TableCheck) -> None:
    for k, kpi in enumerate(kpis):
        if kpi.unit.strip() != "%":
            continue
        values = [_as_fraction(row[k]) for row in check.rows if row[k] is not None]
        if values and all(abs(v) <= 1 for v in values) and any(v != 0 for v in values):
            check.warnings.append(
                f"column {kpi.name!r}: every value is between -1 and 1; the agreed unit is %, so "
                "61.5% must be written 61.5, not 0.615")


def check_frame(frame: pd.DataFrame, kpis: Sequence[KpiSpec], source: str = "data",
                *, label_column: str | None = None) -> TableCheck:
    """Check a firm's table against the agreed KPIs and collect every finding.

    Args:
        frame: The table as read by :func:`read_table`.
        kpis: The agreed KPIs (configuration order).
        source: Name of the file, for messages.
        label_column: Column naming each row; by default the first text column that is not
            a KPI.
    """
    layout = _layout(frame)
    check = TableCheck(source, warnings=list(layout.notes))
    chosen = _match_columns(frame, kpis, layout, check)
    if check.problems:
        return check
    if len(frame) == 0:
        check.problems.append("the file has a header line but no data rows")
        return check
    if label_column is not None and label_column not in frame.columns:
        check.warnings.append(f"label column {label_column!r} not found; rows are named by "
                              "their line number")
    _check_cells(frame, kpis, chosen, layout, check,
                 _label_column(frame, chosen, label_column))
    return check


def rows_from_frame(frame: pd.DataFrame, kpis: Sequence[KpiSpec],
                    source: str = "data") -> list[list[object]]:
    """Pick the KPI columns (in config order) and validate every cell.

    Empty cells are missing values (allowed); everything else must be a number in range.

    Raises:
        DataFileError: Naming the file, line and column of every problem found.
    """
    check = check_frame(frame, kpis, source)
    check.raise_if_invalid()
    return check.rows
