"""Open a firm's data file safely and decide how to read it.

The size is checked before a byte is read (a 1 GB file is refused at once), only regular files
are opened (a pipe or a device would never end), and the kind of file is decided by its first
bytes as well as its name: a workbook named ``.csv``, a text file named ``.xlsx`` or an old
``.xls`` file each get a message saying what it is and what to do, never a parser's traceback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from smpc_bench.inputs.file_errors import DataFileError
from smpc_bench.inputs.raw_table import DEFAULT_LIMITS, RawTable, ReadLimits
from smpc_bench.inputs.text_files import read_text_table
from smpc_bench.inputs.workbooks import read_workbook

__all__ = ["TEXT_SUFFIXES", "WORKBOOK_SUFFIXES", "read_file_bytes", "read_raw_table"]

#: Names read as text tables (CSV or tab-separated).
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".tab"})
#: Names read as Excel workbooks (a ``.xlsm`` file's macros are never run).
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and every password-protected workbook
_OLD_EXCEL = ("the file is an old-format Excel file (Excel 97-2003, .xls) or a "
              "password-protected workbook, which cannot be read: open it in Excel and save it "
              "as 'Excel Workbook (.xlsx)' without a password, or as 'CSV UTF-8'")
_REFUSED_SUFFIXES = {
    ".xls": _OLD_EXCEL,
    ".xlsb": "Excel binary workbooks (.xlsb) cannot be read: save it as 'Excel Workbook "
             "(.xlsx)' or as 'CSV UTF-8'",
    ".ods": "OpenDocument spreadsheets (.ods) cannot be read: save it as 'Excel Workbook "
            "(.xlsx)' or as 'CSV UTF-8'",
    ".numbers": "Numbers files cannot be read: export it as CSV or as an Excel workbook",
}


def _size(n: int) -> str:
    for unit, factor in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


def _too_large(source: str, size: int, limits: ReadLimits) -> DataFileError:
    return DataFileError(
        source, f"the file is {_size(size)}; a data file may be at most "
        f"{_size(limits.max_file_bytes)}. Is it the right file? A table of KPIs with one row "
        "per shop is far smaller")


def read_file_bytes(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS,
                    source: str | None = None) -> bytes:
    """The whole file, if it is a regular file within the size limit.

    Raises:
        DataFileError: Not found, a folder, not a regular file, unreadable or too large.
    """
    source = str(path) if source is None else source
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise DataFileError(source, "this is a folder; give the path of your CSV or Excel "
                                "file")
        # Non-blocking, and checked on the open file itself: a pipe swapped in after the
        # check above must not block the read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise DataFileError(source, "the file was not found: check its name and folder"
                            ) from None
    except OSError as error:
        raise DataFileError(source, f"the file cannot be opened ({error.strerror or error})"
                            ) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataFileError(source, "this is not a regular file (a device or a pipe): give "
                                "the path of your CSV or Excel file")
        if info.st_size > limits.max_file_bytes:
            raise _too_large(source, info.st_size, limits)
        try:
            # Ask for what the file holds (plus one byte, to notice growth): read(n) reserves
            # n bytes at once, and the limit may be far above the file's size.
            data = file.read(min(info.st_size, limits.max_file_bytes) + 1)
        except OSError as error:
            raise DataFileError(source, f"the file cannot be read ({error.strerror or error})"
                                ) from None
    if len(data) > info.st_size:  # it grows while we read: a half-written file
        raise DataFileError(source, "the file changed while it was being read: close the "
                            "program that writes it, then try again")
    return data


def _content(data: bytes) -> str:
    if data.startswith(_ZIP):
        return "workbook"
    if data.startswith(_OLE2):
        return "old-excel"
    if data.startswith(b"%PDF"):
        return "pdf"
    return "text"


def read_raw_table(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS,
                   source: str | None = None) -> RawTable:
    """Read a firm's data file (CSV, tab-separated text or Excel workbook) as a raw table.

    Args:
        path: The file.
        limits: Sizes beyond which the file is refused.
        source: Name of the file in messages (default: ``path`` as given).

    Raises:
        DataFileError: For every way the file cannot be read; never another exception.
    """
    source = str(path) if source is None else source
    suffix = Path(path).suffix.lower()
    data = read_file_bytes(path, limits, source)
    if not data.strip():
        raise DataFileError(source, "the file is empty")
    content = _content(data)
    named = ("workbook" if suffix in WORKBOOK_SUFFIXES else
             "text" if suffix in TEXT_SUFFIXES else content)
    if content == "old-excel":
        raise DataFileError(source, _OLD_EXCEL)
    if content == "pdf":
        raise DataFileError(source, "the file is a PDF document: give your table as an Excel "
                            "workbook (.xlsx) or a CSV file")
    if suffix in _REFUSED_SUFFIXES and not (suffix == ".xls" and content == "text"):
        raise DataFileError(source, _REFUSED_SUFFIXES[suffix])
    if suffix == ".xls":  # a text export named .xls, as some web applications write
        raise DataFileError(source, "the file is named .xls but holds text, not a workbook: "
                            "if it is comma- or tab-separated, rename it to .csv; else open "
                            "it in Excel and save it as 'Excel Workbook (.xlsx)'")
    if named == "workbook" and content == "text":
        raise DataFileError(source, f"the file is named {suffix} but is not an Excel workbook "
                            "(it holds text or is damaged): if it is a CSV file, rename it to "
                            ".csv; else open it in Excel and save it again")
    if named == "text" and content == "workbook":
        raise DataFileError(source, f"the file is an Excel workbook (or another zip archive) "
                            f"named {suffix}: rename it to .xlsx")
    if content == "workbook":
        return read_workbook(source, data, limits)
    return read_text_table(source, data, limits)
