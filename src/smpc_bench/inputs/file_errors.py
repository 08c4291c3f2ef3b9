"""The one exception a firm's data file raises when it cannot be used, and how places are named.

Every failure to read or check a firm's CSV or Excel file is a :class:`DataFileError`: the CLI
prints ``str(error)`` (one line naming the file and, where it applies, the line or cell) and
exits with :data:`smpc_bench.spec.exit_codes.BAD_INPUT`.  Places are 1-based, as a spreadsheet
shows them: ``cell C7`` in a workbook, ``line 7, column C`` in a text file.
"""

from __future__ import annotations

from collections.abc import Sequence

from smpc_bench.spec.kpi import InputError

__all__ = ["MAX_LISTED_PROBLEMS", "DataFileError", "column_letter", "place"]

#: At most this many problems are listed in one message.
MAX_LISTED_PROBLEMS = 12


def column_letter(column: int) -> str:
    """Spreadsheet name of a 1-based column: 1 -> ``A``, 27 -> ``AA``."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def place(line: int | None, column: int | None, *, cell: bool) -> str:
    """``cell C7`` / ``row 7`` (workbook) or ``line 7, column C`` / ``line 7`` (text file)."""
    if line is None:
        return "" if column is None else f"column {column_letter(column)}"
    if cell:
        return f"cell {column_letter(column)}{line}" if column is not None else f"row {line}"
    return f"line {line}, column {column_letter(column)}" if column is not None else f"line {line}"


class DataFileError(InputError):
    """A firm's data file cannot be used; ``str()`` is the message to show, naming the file.

    Attributes:
        path: The file, as the user named it.
        message: What is wrong and what to do, without the file name and place.
        line: 1-based line (text file) or row (workbook), if the problem has one place.
        column: 1-based column (``3`` is column C), if the problem has one place.
        problems: For a table that was read but failed its checks: every problem found
            (each already names its line and column); empty for a file that could not be read.
        detail: What a reading library reported, for a log file or ``--debug`` (never shown
            to the firm by default).
    """

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 column: int | None = None, cell: bool = False,
                 problems: Sequence[str] = (), detail: str = "",
                 text: str | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        self.cell = cell
        self.problems = tuple(problems)
        self.detail = detail
        where = place(line, column, cell=cell)
        if text is None:
            text = f"{path}, {where}: {message}" if where else f"{path}: {message}"
        self.text = text
        super().__init__(text)

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only fields: the default (args only) would not rebuild the error.
        return (_rebuild, (self.path, self.message, self.line, self.column, self.cell,
                           self.problems, self.detail, self.text))

    @classmethod
    def from_problems(cls, path: str, problems: Sequence[str]) -> DataFileError:
        """The error for a table with check problems: one line for one problem, else a list.

        Each problem already starts with its place (``line 2, column 'margin': ...``).
        """
        if len(problems) == 1:
            return cls(path, problems[0], problems=problems, text=f"{path}, {problems[0]}")
        listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED_PROBLEMS])
        more = len(problems) - MAX_LISTED_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        return cls(path, f"{len(problems)} problems found:\n{listed}{tail}", problems=problems)


def _rebuild(path: str, message: str, line: int | None, column: int | None, cell: bool,
             problems: tuple[str, ...], detail: str, text: str) -> DataFileError:
    return DataFileError(path, message, line=line, column=column, cell=cell,
                         problems=problems, detail=detail, text=text)
