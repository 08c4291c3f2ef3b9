"""The pandas adapter: read a firm's KPI table from CSV or Excel and check it locally.

Every check here runs on the firm's own machine before any MPC starts, with messages a
non-programmer can act on (which file, which line, which column, what is wrong and how to fix
it).  :func:`check_frame` collects every problem and warning; :func:`rows_from_frame` raises on
the problems.

Accepted cell formats: plain numbers (``61.5``, ``1250000``), a decimal comma (``61,5``), the
KPI's own unit written next to the number (``61.5 %``, ``8.45 EUR``, ``EUR 8.45``, ``€8.45``),
and empty cells, ``NA`` or ``NaN`` for a missing value (allowed: a missing value is simply not
counted).  Refused with an explanation: text, another unit, thousands separators (``1,250,000``
or the ambiguous ``1,250``), values outside the agreed range.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from smpc_bench.spec.kpi import InputError, KpiSpec

__all__ = ["TableCheck", "check_frame", "read_table", "rows_from_frame"]

#: At most this many problems are listed in one message.
MAX_LISTED_PROBLEMS = 12

_CURRENCY_SYMBOLS = {"€": "eur", "$": "usd", "£": "gbp", "¥": "jpy", "chf": "chf"}
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")
_LINE = "line {line}, column {column!r}"


@dataclass
class TableCheck:
    """Result of checking one firm's table against the agreed KPIs.

    Attributes:
        source: File name used in messages.
        rows: Cleaned rows, one cell per KPI in configuration order (``None`` = missing).
        labels: A name per row (from the label column, else ``"line N"``).
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
        """Raise :class:`InputError` listing the problems (at most a dozen), if any."""
        if self.problems:
            raise InputError(problem_message(self.source, self.problems))


def problem_message(source: str, problems: Sequence[str]) -> str:
    """One readable message for a list of problems in ``source``."""
    if len(problems) == 1:
        return f"{source}, {problems[0]}"
    listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED_PROBLEMS])
    more = len(problems) - MAX_LISTED_PROBLEMS
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return f"{source}: {len(problems)} problems found:\n{listed}{tail}"


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text cells, guessing the delimiter (``,``, ``;`` or tab)."""
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            sample = path.read_text(encoding=encoding)[:8192]
        except UnicodeDecodeError:
            continue
        try:
            delimiter = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "",
                                            delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        return pd.read_csv(path, sep=delimiter, dtype=str, encoding=encoding,
                           skipinitialspace=True)
    raise InputError(f"{path}: the file is not text (is it really a CSV file?)")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``) or Excel (``.xlsx``, ``.xls``) file of KPI rows.

    CSV cells are read as text, so that numbers keep exactly the digits written.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} not found")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of your CSV or Excel file")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
            return pd.read_excel(path)
        return _read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except (ValueError, pd.errors.ParserError, OSError, ImportError) as error:
        raise InputError(f"{path}: could not read the table: {error}") from None


def _normal(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _match_columns(frame: pd.DataFrame, kpis: Sequence[KpiSpec], check: TableCheck
                   ) -> dict[str, object]:
    """Map each KPI to a column: exact name first, else ignoring case, spaces and dashes."""
    by_normal: dict[str, object] = {}
    for column in frame.columns:
        by_normal.setdefault(_normal(column), column)
    chosen: dict[str, object] = {}
    for kpi in kpis:
        if kpi.name in frame.columns:
            chosen[kpi.name] = kpi.name
        elif _normal(kpi.name) in by_normal:
            chosen[kpi.name] = by_normal[_normal(kpi.name)]
    missing = [k.name for k in kpis if k.name not in chosen]
    if missing:
        check.problems.append(
            f"column(s) {', '.join(missing)} missing; the file has "
            f"{', '.join(map(str, frame.columns)) or 'no columns'}. The first line must name "
            f"the columns: {', '.join(k.name for k in kpis)}")
    duplicated = [str(c) for c in frame.columns if re.fullmatch(r".+\.\d+", str(c))
                  and str(c).rsplit(".", 1)[0] in map(str, frame.columns)]
    if duplicated:
        check.warnings.append(f"column(s) {', '.join(duplicated)} look like repeated column "
                              "names; only the first of each is used")
    used = set(chosen.values())
    check.ignored_columns = [str(c) for c in frame.columns if c not in used]
    return chosen


def _unit_words(unit: str) -> set[str]:
    words = {unit.strip().casefold()} if unit.strip() else set()
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if code in words:
            words.add(symbol)
    if "%" in words:
        words.update({"percent", "pct"})
    return words


def clean_cell(cell: object, kpi: KpiSpec) -> tuple[object, str | None]:
    """Turn one cell into a number (or ``None`` for missing), or explain what is wrong.

    Returns:
        ``(value, problem)``: ``problem`` is None when the cell is usable.
    """
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return None, None
    if isinstance(cell, bool):
        return None, f"{cell!r} is a yes/no value, not a number"
    if not isinstance(cell, str):
        return cell, None
    text = cell.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if text.casefold() in ("", "na", "n/a", "nan", "-", "null", "none"):
        return None, None
    compact = text.replace(" ", "")
    if re.fullmatch(r"[+-]?\d[\d.,]*", compact) and compact.count(",") + compact.count(".") > 1:
        return None, (f"{text!r} uses thousands separators; write the number without them "
                      "and with a decimal point, e.g. 1250000 or 1250000.50")
    match = _NUMBER.search(compact)
    number = match.group(0) if match else ""
    rest = (compact[:match.start()] + compact[match.end():]).casefold() if match else compact
    if not number:
        return None, f"{text!r} is not a number"
    if rest and rest not in _unit_words(kpi.unit):
        unit = f"the agreed unit is {kpi.unit!r}" if kpi.unit else "no unit is expected"
        return None, f"{text!r} is not a plain number ({unit})"
    if "," in number:
        integer, _, fraction = number.partition(",")
        if len(fraction) == 3 and integer.lstrip("+-"):
            return None, (f"{text!r} is ambiguous: is ',' a decimal comma or a thousands "
                          "separator? Write it with a decimal point and no separators, e.g. "
                          f"{integer}.{fraction} or {integer}{fraction}")
        number = number.replace(",", ".")
    return number, None


def _label(record: pd.Series, column: object | None, line: int) -> str:
    if column is None:
        return f"line {line}"
    value = record[column]
    return f"line {line}" if pd.isna(value) or not str(value).strip() else str(value).strip()


def _label_column(frame: pd.DataFrame, chosen: dict[str, object],
                  wanted: str | None) -> object | None:
    if wanted is not None:
        return wanted if wanted in frame.columns else None
    column: object
    used = set(chosen.values())
    for column in frame.columns:
        if column in used:
            continue
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, str) and _NUMBER.fullmatch(v.strip()) is None
                               for v in values):
            return column
    return None


def _check_cells(frame: pd.DataFrame, kpis: Sequence[KpiSpec], chosen: dict[str, object],
                 check: TableCheck, label_column: object | None) -> None:
    used = [0] * len(kpis)
    rounded: list[str] = []
    for line, (_, record) in enumerate(frame.iterrows(), start=2):  # line 1 is the header
        row: list[object] = []
        for k, kpi in enumerate(kpis):
            value, problem = clean_cell(record[chosen[kpi.name]], kpi)
            if problem is None and value is not None:
                try:
                    kpi.encode_one(value)
                    if kpi.rounded(value) != _as_fraction(value):
                        rounded.append(kpi.name)
                except InputError as error:
                    problem = str(error).split(": ", 1)[-1]
            if problem is not None:
                check.problems.append(f"{_LINE.format(line=line, column=kpi.name)}: {problem}")
                value = None
            elif value is None:
                check.missing_cells += 1
            else:
                used[k] += 1
            row.append(value)
        check.rows.append(row)
        check.labels.append(_label(record, label_column, line))
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
    check = TableCheck(source)
    chosen = _match_columns(frame, kpis, check)
    if check.problems:
        return check
    if len(frame) == 0:
        check.problems.append("the file has a header line but no data rows")
        return check
    if label_column is not None and label_column not in frame.columns:
        check.warnings.append(f"label column {label_column!r} not found; rows are named by "
                              "their line number")
    _check_cells(frame, kpis, chosen, check, _label_column(frame, chosen, label_column))
    return check


def rows_from_frame(frame: pd.DataFrame, kpis: Sequence[KpiSpec],
                    source: str = "data") -> list[list[object]]:
    """Pick the KPI columns (in config order) and validate every cell.

    Empty cells are missing values (allowed); everything else must be a number in range.

    Raises:
        InputError: Naming the file, line and column of every problem found.
    """
    check = check_frame(frame, kpis, source)
    check.raise_if_invalid()
    return check.rows
