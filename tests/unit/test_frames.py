"""Reading and checking a firm's KPI table: every problem named by file, line and column."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest

from smpc_bench.inputs.firm_data import check_frame, clean_cell, read_table, rows_from_frame
from smpc_bench.spec.kpi import InputError, KpiSpec

KPIS = (
    KpiSpec("revenue", 0, 5_000_000, 0, "EUR"),
    KpiSpec("margin", 0, 100, 1, "%"),
)


def _csv(tmp_path: Path, text: str, name: str = "firm.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _check(tmp_path: Path, text: str, **kwargs):
    path = _csv(tmp_path, text)
    return check_frame(read_table(path), KPIS, source=path.name, **kwargs)


@pytest.mark.parametrize(("cell", "value"), [
    ("61.5", "61.5"), ("61,5", "61.5"), (" 7 ", "7"), ("61.5 %", "61.5"), ("61.5%", "61.5"),
    ("", None), ("NA", None), ("n/a", None), ("-", None), (None, None),
    (float("nan"), None), (12.25, 12.25), (3, 3),
])
def test_clean_cell_accepts(cell: object, value: object) -> None:
    assert clean_cell(cell, KPIS[1]) == (value, None)


@pytest.mark.parametrize(("cell", "value"), [
    ("8.45 EUR", "8.45"), ("EUR 8.45", "8.45"), ("€8.45", "8.45"), ("eur 8", "8"),
])
def test_clean_cell_accepts_the_agreed_currency(cell: str, value: str) -> None:
    assert clean_cell(cell, KPIS[0]) == (value, None)


@pytest.mark.parametrize(("cell", "message"), [
    ("lots", "is not a number"),
    ("1,250,000", "thousands separators"),
    ("1.250.000,50", "thousands separators"),
    ("1,250", "ambiguous"),
    ("12 kg", "the agreed unit is '%'"),
    (True, "yes/no"),
    ("1e400", "too many digits or too large an exponent"),
    ("1e-999999999", "too many digits or too large an exponent"),
    ("9" * 5000, "too many digits"),
    ("inf", "is not a number"),
    (float("inf"), "infinitely large"),
    ("#DIV/0!", "is an Excel error"),
    ("#N/A", "is an Excel error"),
    (datetime.date(2026, 1, 5), "is a date or time"),
])
def test_clean_cell_explains(cell: object, message: str) -> None:
    value, problem = clean_cell(cell, KPIS[1])
    assert value is None and problem is not None and message in problem


def test_good_file_with_labels_and_missing_cells(tmp_path: Path) -> None:
    check = _check(tmp_path, "shop,revenue,margin,notes\nNorth,830000,58.9,x\n"
                             "South,1250000,,y\n")
    assert check.ok
    assert check.rows == [["830000", "58.9"], ["1250000", None]]
    assert check.labels == ["North", "South"]
    assert check.missing_cells == 1
    assert check.ignored_columns == ["shop", "notes"]


def test_every_problem_is_listed_with_line_and_column(tmp_path: Path) -> None:
    check = _check(tmp_path, "revenue,margin\nlots,58.9\n100,101\n-5,NaN\n")
    assert check.problems == [
        "line 2, column 'revenue': 'lots' is not a number",
        "line 3, column 'margin': 101 is outside the agreed range 0 to 100 %",
        "line 4, column 'revenue': -5 is outside the agreed range 0 to 5000000 EUR",
    ]
    with pytest.raises(InputError) as caught:
        check.raise_if_invalid()
    text = str(caught.value)
    assert text.startswith("firm.csv: 3 problems found:")
    assert "line 3, column 'margin'" in text


def test_single_problem_message_names_file_line_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "revenue,margin\n100,abc\n")
    with pytest.raises(InputError, match=r"firm.csv, line 2, column 'margin': 'abc' is not a"):
        rows_from_frame(read_table(path), KPIS, source="firm.csv")


def test_missing_columns_are_named(tmp_path: Path) -> None:
    check = _check(tmp_path, "revenue,marge\n100,5\n")
    assert len(check.problems) == 1
    assert "column(s) margin missing" in check.problems[0]
    assert "the file has revenue, marge" in check.problems[0]


def test_column_names_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    check = _check(tmp_path, "Revenue , MARGIN\n100,5\n")
    assert check.ok and check.rows == [["100", "5"]]


def test_semicolon_csv_with_decimal_comma(tmp_path: Path) -> None:
    check = _check(tmp_path, "revenue;margin\n830000;58,9\n412000;55,3\n")
    assert check.ok and check.rows == [["830000", "58.9"], ["412000", "55.3"]]


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    assert "no data rows" in _check(tmp_path, "revenue,margin\n").problems[0]
    with pytest.raises(InputError, match="empty"):
        read_table(_csv(tmp_path, "", "empty.csv"))
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")


def test_warnings(tmp_path: Path) -> None:
    check = _check(tmp_path, "revenue,margin\n100.4,0.615\n200,0.5\n")
    assert check.ok
    joined = " ".join(check.warnings)
    assert "more than 0 decimal(s) and will be rounded" in joined
    assert "61.5% must be written 61.5" in joined
    empty = _check(tmp_path, "revenue,margin\n100,\n")
    assert any("will not count as a contributor for margin" in w for w in empty.warnings)


def test_excel(tmp_path: Path) -> None:
    path = tmp_path / "firm.xlsx"
    pd.DataFrame({"shop": ["A", "B"], "revenue": [830000, 412000],
                  "margin": [58.9, None]}).to_excel(path, index=False)
    check = check_frame(read_table(path), KPIS, source=path.name)
    assert check.ok
    assert check.labels == ["A", "B"]
    assert check.rows[0] == [830000, 58.9] and check.rows[1][1] is None


def test_configured_label_column(tmp_path: Path) -> None:
    check = _check(tmp_path, "id,shop,revenue,margin\n1,North,100,5\n",
                   label_column="id")
    assert check.labels == ["1"]
    missing = _check(tmp_path, "revenue,margin\n100,5\n", label_column="shop")
    assert missing.labels == ["line 2"] and "label column 'shop' not found" in missing.warnings[0]


def test_the_header_may_follow_blank_lines_and_line_numbers_stay_true(tmp_path: Path) -> None:
    check = _check(tmp_path, "\n\nrevenue,margin\n\n100,abc\n")
    assert check.problems == ["line 5, column 'margin': 'abc' is not a number"]
    missing = _check(tmp_path, "\n\nrevenue,marge\n1,2\n")
    assert "Line 3 (the first line with text) must name the columns" in missing.problems[0]


def test_a_kpi_column_that_two_columns_could_mean_is_refused(tmp_path: Path) -> None:
    check = _check(tmp_path, "revenue,margin,Revenue\n1,2,3\n")
    assert check.problems == ["column 'revenue' appears 2 times (columns A, C): keep one, and "
                              "delete or rename the others"]
    assert _check(tmp_path, "shop,revenue,margin,shop\nA,1,2,B\n").ok  # not a KPI: no matter


def test_a_table_without_header_is_recognised(tmp_path: Path) -> None:
    check = _check(tmp_path, "830000,58.9\n412000,55.3\n")
    assert check.problems == ["the first line holds numbers (830000, 58.9), not column names: "
                              "add a line above the table naming the columns: revenue, margin"]


def test_hand_built_frames_keep_working(tmp_path: Path) -> None:
    frame = pd.DataFrame({"revenue": ["100", None], "margin": [5.5, float("nan")]})
    check = check_frame(frame, KPIS, source="frame")
    assert check.ok and check.rows == [["100", 5.5], [None, None]]
    assert check.labels == ["line 2", "line 3"]
