"""Input normalisation shared by forms, the API and file imports: character width, stray spaces, dates.

Why not plain NFKC: it also rewrites characters that carry meaning in Chinese text — '①' becomes '1', '㈠'
becomes '(一)', '²' becomes '2' — and addresses and names must come back as the person typed them. What
people actually paste from phones and spreadsheets is narrower: full-width ASCII (`１３８`, `Ｘ`, `（`), the
ideographic space, zero-width characters and no-break spaces. So we fold exactly those: U+FF01–U+FF5E to
U+0021–U+007E, every Unicode space to ' ', zero-width characters removed. Chinese punctuation such as '。',
'、' and '《》' has no half-width twin and is left alone.

Dates come from spreadsheets in every shape; `parse_date` accepts the ones seen in Chinese files and says
precisely why it refuses the others. Pure Python, no Django: the simulator and imports share it.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

_FULL_WIDTH_OFFSET = 0xFF01 - 0x21
_WIDTH_TABLE: dict[int, int | str | None] = {code: code - _FULL_WIDTH_OFFSET for code in range(0xFF01, 0xFF5F)}
_WIDTH_TABLE[0x3000] = " "  # ideographic space
for _zero_width in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):  # incl. soft hyphen
    _WIDTH_TABLE[_zero_width] = None
for _space in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F):
    _WIDTH_TABLE[_space] = " "
_RUNS_OF_SPACE = re.compile(r"\s+")
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")

CHINA_TIME_ZONE = ZoneInfo("Asia/Shanghai")
# Excel's 1900 date system: serial 1 is 1900-01-01 and serial 60 is the non-existent 1900-02-29 that Lotus
# 1-2-3 invented and Excel kept; from serial 61 (1900-03-01) on, serial n is 1899-12-30 + n days.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_PHANTOM_LEAP_DAY = 60
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31

_TIME_SUFFIX = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_SEPARATED = re.compile(r"(\d{4}) ?([-/.]) ?(\d{1,2}) ?\2 ?(\d{1,2})" + _TIME_SUFFIX)
_CHINESE = re.compile(r"(\d{4}) ?年 ?(\d{1,2}) ?月 ?(\d{1,2}) ?[日号]?" + _TIME_SUFFIX)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")  # as text, only the 5-digit serials of 1927..2173


def to_half_width(value: str) -> str:
    """Fold full-width ASCII to half-width, Unicode spaces to ' ', and drop zero-width characters."""
    return value.translate(_WIDTH_TABLE)


def normalize_text(value: object) -> str:
    """A form or spreadsheet value as one clean line: width folded, runs of spaces collapsed, ends stripped."""
    if value is None:
        return ""
    if (
        type(value) is str
        and value.isprintable()
        and "  " not in value
        and (value.isascii() or _FULL_WIDTH.search(value) is None)
    ):
        # Already clean but for its ends — the common case (names, addresses), without translate and the space
        # regex: every character the width table changes other than full-width ASCII (Unicode spaces, zero
        # width characters, the soft hyphen) and every whitespace character but ' ' is not printable.
        return value.strip(" ")
    return _RUNS_OF_SPACE.sub(" ", to_half_width(str(value))).strip()


def compact(value: object) -> str:
    """`normalize_text` without any space at all — for identifiers typed in groups ('138 1234 5678')."""
    return normalize_text(value).replace(" ", "")


class ParseErrorCode(StrEnum):
    EMPTY = "empty"
    FORMAT = "format"
    IMPOSSIBLE_DATE = "impossible_date"
    SERIAL_OUT_OF_RANGE = "serial_out_of_range"


PARSE_MESSAGES: dict[ParseErrorCode, str] = {
    ParseErrorCode.EMPTY: "no date given",
    ParseErrorCode.FORMAT: "not a date; write it as 2021-08-03",
    ParseErrorCode.IMPOSSIBLE_DATE: "this date does not exist in the calendar",
    ParseErrorCode.SERIAL_OUT_OF_RANGE: "a spreadsheet date number must be between 1 and 2958465 (and not 60)",
}


class ParseError(ValueError):
    """A value that is not a date; `code` is stable, `message` is plain English for translation by code."""

    def __init__(self, code: ParseErrorCode, value: object = None) -> None:
        self.code = code
        self.value = value
        self.message = PARSE_MESSAGES[code]
        super().__init__(self.message if value is None else f"{self.message}: {value!r}")


def excel_serial(day: date) -> int:
    """The Excel (1900 date system) serial number of a date: the inverse of `parse_date` on numbers."""
    if day < date(1900, 1, 1):
        raise ValueError("Excel's 1900 date system starts on 1900-01-01")
    if day < date(1900, 3, 1):
        return (day - date(1899, 12, 31)).days
    return (day - _EXCEL_EPOCH).days


def _from_serial(value: float, raw: object) -> date:
    if not math.isfinite(value):
        raise ParseError(ParseErrorCode.FORMAT, raw)
    whole = math.floor(value)  # the fraction is the time of day
    if 10_000_000 <= whole <= 99_999_999 and whole == value:
        # A date typed as 20210803 in a spreadsheet cell becomes the number 20210803, not a serial.
        return _build(str(whole)[:4], str(whole)[4:6], str(whole)[6:], raw)
    if not 1 <= whole <= _EXCEL_MAX_SERIAL or whole == _EXCEL_PHANTOM_LEAP_DAY:
        raise ParseError(ParseErrorCode.SERIAL_OUT_OF_RANGE, raw)
    if whole < _EXCEL_PHANTOM_LEAP_DAY:
        return date(1899, 12, 31) + timedelta(days=whole)
    return _EXCEL_EPOCH + timedelta(days=whole)


def _build(year: str, month: str, day: str, raw: object) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as error:
        raise ParseError(ParseErrorCode.IMPOSSIBLE_DATE, raw) from error


def parse_date(value: object) -> date:
    """A calendar date from a form, API or spreadsheet value.

    Accepts `date`; `datetime` (an aware one is first converted to China time, because a UTC timestamp just
    before midnight belongs to the next day in Asia/Shanghai); '2021-08-03', '2021/8/3', '2021.8.3' (one
    separator throughout, an optional time after it); '20210803'; '2021年8月3日'; and Excel serial numbers as
    int, float or text ('44411'), in the 1900 date system including its phantom 1900-02-29 (serial 60 is
    refused: that day never existed); an 8-digit number is read as YYYYMMDD, since that is what a date typed
    without separators becomes in a number cell. Two-digit years and day-first orders are refused as ambiguous.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(CHINA_TIME_ZONE)
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ParseError(ParseErrorCode.FORMAT, value)
    if isinstance(value, int | float):
        return _from_serial(float(value), value)
    text = normalize_text(value)
    if not text:
        raise ParseError(ParseErrorCode.EMPTY)
    for pattern in (_SEPARATED, _CHINESE):
        match = pattern.fullmatch(text)
        if match:
            groups = match.groups()
            year, month, day = (groups[0], groups[2], groups[3]) if pattern is _SEPARATED else groups
            return _build(year, month, day, value)
    match = _COMPACT.fullmatch(text)
    if match:
        year, month, day = match.groups()
        return _build(year, month, day, value)
    if _SERIAL_TEXT.fullmatch(text):
        return _from_serial(float(text), value)
    raise ParseError(ParseErrorCode.FORMAT, value)
