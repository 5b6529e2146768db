"""Reading a list file into a header and rows of raw cell values, refusing what is not a table.

Spreadsheets (.xlsx, .xls) are read with python-calamine (numbers come back as floats, midnight datetimes as
dates, empty cells as ''); the raw values are kept, because an ID number stored as a number must be reported
as damaged, not silently turned into text. CSV text is UTF-8 (with or without BOM) or GBK/GB18030, detected
from a sample cut at a newline and decoded as gb18030 (a superset of GBK). The file type comes from its first
bytes, not its name. Size is checked before anything is read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from fangkong.core.errors import DomainError, ErrorCode
from fangkong.core.text import normalize_text

MAX_LIST_BYTES = 512 * 1024 * 1024  # ~4 M rows of CSV; a 2 GB file is refused before it is read
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in an OLE container)
SAMPLE_BYTES = 64 * 1024


class ListFileError(DomainError):
    default_code = ErrorCode.IMPORT_FAILED


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]  # raw cell values, padded to len(headers)
    row_numbers: list[int]  # the row number as the user sees it in the file (header = row 1 usually)
    kind: str  # 'xlsx', 'xls' or 'csv'
    encoding: str = ""
    notes: list[str] = field(default_factory=list)


def check_size(size: int) -> None:
    if size <= 0:
        raise ListFileError(_("The file is empty."), field="file")
    if size > MAX_LIST_BYTES:
        raise ListFileError(
            _("The file is %(size)s MB; lists up to %(limit)s MB can be imported. Split it into parts.")
            % {"size": size // (1024 * 1024), "limit": MAX_LIST_BYTES // (1024 * 1024)},
            field="file",
        )


def sniff_kind(head: bytes) -> str:
    """'xlsx', 'xls' or 'csv' from the first bytes; binary junk is refused."""
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if b"\x00" in head[:SAMPLE_BYTES]:
        raise ListFileError(_("This file is neither a spreadsheet (.xlsx, .xls) nor a CSV text file."), field="file")
    return "csv"


def detect_encoding(raw: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' (GBK and GB2312 are read as their superset GB18030)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    sample = raw[:SAMPLE_BYTES]
    if len(raw) > SAMPLE_BYTES:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(sample).best()
        name = (best.encoding if best else "").lower().replace("-", "").replace("_", "")
        if name in ("utf8", "utf8sig"):
            return "utf-8"
        return "gb18030"  # what Chinese office software writes when it is not UTF-8
    return "utf-8"


def _decode(raw: bytes) -> tuple[str, str]:
    encoding = detect_encoding(raw)
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError:
        pass
    for fallback in ("utf-8", "gb18030"):
        try:
            return raw.decode(fallback), fallback
        except UnicodeDecodeError:
            continue
    raise ListFileError(
        _("The text is neither UTF-8 nor GBK/GB18030; save the file as CSV (UTF-8) or as .xlsx."), field="file"
    )


def _csv_rows(text: str) -> list[list[Any]]:
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = max((",", "\t", ";", "|"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _sheet_rows(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own types for damaged workbooks
        raise ListFileError(
            _("The spreadsheet cannot be read (damaged, encrypted or not really a workbook)."), field="file"
        ) from error
    try:
        rows: list[list[Any]] = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as error:
        raise ListFileError(_("The first sheet of the workbook cannot be read."), field="file") from error
    finally:
        workbook.close()
    return rows


def _is_blank(row: list[Any]) -> bool:
    for value in row:  # a loop, not all(<generator>): this runs once per row of a million-row file
        if value is not None and (not isinstance(value, str) or value.strip()):
            return False
    return True


def _headers(raw: list[Any]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(raw, start=1):
        text = normalize_text(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        if not text:
            text = _("Column %(n)d") % {"n": index}
        if text in seen:
            seen[text] += 1
            text = f"{text} ({seen[text]})"
        else:
            seen[text] = 1
        headers.append(text)
    return headers


def read_list(path: Path, *, size: int | None = None) -> Table:
    """The first sheet (or the CSV) as a header row and data rows. Blank rows are skipped, row numbers kept."""
    check_size(path.stat().st_size if size is None else size)
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    kind = sniff_kind(head)
    encoding = ""
    if kind == "csv":
        text, encoding = _decode(path.read_bytes())
        all_rows = _csv_rows(text)
        del text
    else:
        all_rows = _sheet_rows(path)
    header_index = next((i for i, row in enumerate(all_rows) if not _is_blank(row)), None)
    if header_index is None:
        raise ListFileError(_("The file is empty."), field="file")
    headers = _headers(all_rows[header_index])
    # Trailing empty header cells with no data are formatting, not columns.
    while len(headers) > 1 and not normalize_text(all_rows[header_index][len(headers) - 1]):
        headers.pop()
    width = len(headers)
    rows: list[list[Any]] = []
    numbers: list[int] = []
    for index in range(header_index + 1, len(all_rows)):
        row = all_rows[index]
        if _is_blank(row):
            continue
        if len(row) < width:
            row = [*row, *([""] * (width - len(row)))]
        rows.append(row)
        numbers.append(index + 1)
    if not rows:
        raise ListFileError(_("The file has a header row but no data rows."), field="file")
    return Table(headers=headers, rows=rows, row_numbers=numbers, kind=kind, encoding=encoding)
