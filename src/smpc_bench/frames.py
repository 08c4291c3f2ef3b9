"""The pandas adapter: read a firm's KPI table from CSV or Excel and check it locally.

Every check here runs on the firm's own machine before any MPC starts, with messages a
non-programmer can act on (which file, which row, which column, what is wrong).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from smpc_bench.kpi import InputError, KpiSpec

__all__ = ["read_table", "rows_from_frame"]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (``.csv``) or Excel (``.xlsx``) file of KPI rows."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} not found")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path)
        return pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, OSError) as error:
        raise InputError(f"{path}: could not read the table: {error}") from None


def rows_from_frame(frame: pd.DataFrame, kpis: Sequence[KpiSpec],
                    source: str = "data") -> list[list[object]]:
    """Pick the KPI columns (in config order) and validate every cell.

    Empty cells are missing values (allowed); everything else must be a number in range.

    Raises:
        InputError: Naming the file, row and column of the first problem found.
    """
    missing = [k.name for k in kpis if k.name not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: column(s) {', '.join(missing)} missing; the file has "
            f"{', '.join(map(str, frame.columns)) or 'no columns'}"
        )
    if len(frame) == 0:
        raise InputError(f"{source}: the file has a header but no data rows")
    rows: list[list[object]] = []
    for r, (_, record) in enumerate(frame.iterrows(), start=2):  # row 1 is the header
        row: list[object] = []
        for kpi in kpis:
            cell = record[kpi.name]
            if pd.isna(cell):
                row.append(None)
                continue
            if isinstance(cell, str):
                cell = cell.strip().replace(",", ".") if cell.count(",") == 1 and "." not in cell \
                    else cell.strip()
            try:
                kpi.encode_one(cell)
            except InputError as error:
                raise InputError(f"{source}, line {r}, column {kpi.name!r}: "
                                 f"{str(error).split(': ', 1)[-1]}") from None
            row.append(cell)
        rows.append(row)
    return rows
