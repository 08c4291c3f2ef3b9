"""Read a CSV (or tab-separated) text file as Excel and other programs write it.

Encodings, in this order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32: Excel's "CSV UTF-8"
and "Unicode Text" exports), plain UTF-8, UTF-16 without a mark (recognised by its zero bytes),
then Windows-1252 (Excel's "CSV" export on a Western European Windows), with a warning because
that guess cannot be verified.  Anything else is refused as "not text".

The column separator is ``,``, ``;`` or tab: the one that splits the first lines into the same
number of cells (ties go to the one whose cells look like numbers; a remaining tie is refused,
not guessed).  Line numbers are the file's physical lines, as a text editor shows them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from smpc_bench.inputs.file_errors import DataFileError
from smpc_bench.inputs.raw_table import RawTable, ReadLimits, build_table, is_blank

__all__ = ["decode_text", "read_text_table"]

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "commas (,)", ";": "semicolons (;)", "\t": "tabs"}
_NUMBERISH = re.compile(r"[+-]?[^\d]{0,4}\d+([.,]\d+)?([eE][+-]?\d+)?\s*[^\d]{0,4}")
_SNIFF_CHARS = 65_536
_SNIFF_RECORDS = 50
_NOT_TEXT = ("the file is not a text file (is it really a CSV file? An Excel workbook must be "
             "named .xlsx). Save your table from Excel as 'CSV UTF-8' or as 'Excel Workbook'")


def _line_of(text: str, position: int) -> int:
    return len(_NEWLINE.findall(text, 0, position)) + 1


def _utf16_without_mark(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` if nearly every other byte is zero (Latin text saved as UTF-16).

    The decoding that follows is strict, so a wrong guess is refused, never read as garbage.
    """
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for codec, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) == 0:
            return codec
    return None


def _decode_marked(source: str, data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        line = _line_of(data[:error.start].decode(codec, errors="replace"), error.start)
        raise DataFileError(source, f"the file says it is {name} text but is damaged here: "
                            "save it again from the program that made it", line=line) from None


def decode_text(source: str, data: bytes) -> tuple[str, list[str]]:
    """The file's text and notes on how it was decoded.

    Raises:
        DataFileError: The bytes are not text in any encoding listed in the module docstring.
    """
    for mark, codec, name in _BOMS:
        if data.startswith(mark):
            return _decode_marked(source, data[len(mark):], codec, name), []
    codec16 = _utf16_without_mark(data)  # before UTF-8: zero bytes are valid UTF-8
    if codec16 is not None:
        return _decode_marked(source, data, codec16, "UTF-16"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as error:
        utf8_error = error
    first_non_ascii = re.search(rb"[\x80-\xff]", data)
    if first_non_ascii is not None and first_non_ascii.start() < utf8_error.start:
        # Valid UTF-8 letters before the bad byte: a damaged UTF-8 file, not another encoding.
        line = data.count(b"\n", 0, utf8_error.start) + 1
        raise DataFileError(source, "the file is UTF-8 text with a damaged character here: "
                            "save it again from the program that made it", line=line)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise DataFileError(source, _NOT_TEXT) from None
    return text, ["the file is not UTF-8 text; it was read as Windows-1252 (Western European). "
                  "If names with accents look wrong, save the file from Excel as 'CSV UTF-8'"]


def _check_characters(source: str, text: str) -> None:
    """Refuse binary data and invisible control characters (a NUL byte, a form feed)."""
    found = _CONTROL.search(text)
    if found is None:
        return
    sample = text[:4096]
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        raise DataFileError(source, _NOT_TEXT)
    line = _line_of(text, found.start())
    character = found.start() - max(text.rfind("\n", 0, found.start()),
                                    text.rfind("\r", 0, found.start()))
    raise DataFileError(
        source, f"character {character} of this line is an invisible control character "
        f"(code {ord(found.group())}), which a table never holds: delete it, or save the file "
        "again from Excel", line=line)


def _widths(sample: str, delimiter: str) -> tuple[list[int], int]:
    """Cells per non-blank record of the sample, and how many data cells look like numbers."""
    widths: list[int] = []
    numbers = 0
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter,
                        skipinitialspace=True)
    try:
        for record in reader:
            width = len(record)
            while width and is_blank(record[width - 1]):
                width -= 1
            if width:
                if widths:
                    numbers += sum(1 for c in record if _NUMBERISH.fullmatch(c.strip()))
                widths.append(width)
            if len(widths) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return [], 0
    return widths, numbers


def _delimiter(source: str, text: str) -> str:
    """The column separator, or a clear refusal when two separators fit equally well."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rfind("\n") + 1]
    fits: list[tuple[int, str]] = []
    widest: tuple[int, str] = (1, ",")
    for delimiter in _DELIMITERS:
        widths, numbers = _widths(sample, delimiter)
        if not widths or widths[0] < 2:
            continue
        widest = max(widest, (widths[0], delimiter), key=lambda w: w[0])
        if all(w <= widths[0] for w in widths[1:]):
            fits.append((numbers, delimiter))
    if not fits:
        return widest[1]  # ragged lines are then reported by line
    fits.sort(reverse=True)
    if len(fits) > 1 and fits[0][0] == fits[1][0]:
        first, second = sorted(_DELIMITER_NAMES[d] for _, d in fits[:2])
        raise DataFileError(
            source, f"cannot tell whether the columns are separated by {first} or by {second}: "
            "both read the first lines as a table. Save the file again from Excel as CSV, or "
            "use only one kind of separator")
    return fits[0][1]


def _lines(source: str, text: str, limits: ReadLimits) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > limits.max_line_chars:
            raise DataFileError(
                source, f"this line is {len(line):,} characters long; at most "
                f"{limits.max_line_chars:,} are accepted. Is this really a table of KPIs?",
                line=number)
        yield line


def _records(source: str, text: str, delimiter: str, limits: ReadLimits
             ) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(_lines(source, text, limits), delimiter=delimiter, strict=True,
                        skipinitialspace=True)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _csv_error(source, str(error), start) from None
        yield start, record


def _csv_error(source: str, reason: str, line: int) -> DataFileError:
    if "end of data" in reason or "field larger" in reason:
        message = ('a quotation mark (") opens a text here that is never closed: add the '
                   "closing quotation mark, or remove the opening one")
    elif "expected after" in reason:
        message = ('text follows a closing quotation mark ("): put the whole cell in '
                   'quotation marks and double the ones inside ("")')
    else:
        message = f"this line cannot be read as CSV ({reason})"
    return DataFileError(source, message, line=line)


def read_text_table(source: str, data: bytes, limits: ReadLimits) -> RawTable:
    """The table in a CSV or tab-separated text file.

    Raises:
        DataFileError: For every way the file cannot be read, naming the line where it applies.
    """
    text, notes = decode_text(source, data)
    if text.endswith("\x1a"):  # DOS end-of-file mark written by some old programs
        text = text[:-1]
    _check_characters(source, text)
    delimiter = _delimiter(source, text)
    return build_table(source, _records(source, text, delimiter, limits), workbook=False,
                       limits=limits, notes=notes, delimiter_hint=delimiter)
