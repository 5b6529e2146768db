"""Input normalisation shared by forms and file imports: full-width characters, stray spaces, dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff\u3000]+")
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01, counting the 1900 leap-year bug


class ParseError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize_text(value: object) -> str:
    """Full-width digits, letters and punctuation to half-width (NFKC), zero-width and repeated spaces folded."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub(" ", text).strip()


def parse_date(value: object) -> date:
    """Accept date/datetime, '2021-08-03', '2021/8/3', '2021.8.3', '20210803', '2021年8月3日', Excel serials."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        serial = float(value)
        if not 1 <= serial < 2958466:
            raise ParseError(f"{value!r} is not a date")
        whole = int(serial)
        if whole < 61:  # serials before 1900-03-01 sit before Excel's phantom 1900-02-29
            whole += 1
        return _EXCEL_EPOCH + timedelta(days=whole)
    text = normalize_text(value).replace(" ", "")
    if not text:
        raise ParseError("no date given")
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return parse_date(float(text))
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError as error:
                raise ParseError(f"{value!r} is not a real date") from error
    raise ParseError(f"{value!r} is not a date (use 2021-08-03)")
