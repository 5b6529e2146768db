"""Turning one raw cell into a field's value, or a reason why not.

Full-width digits and letters and stray spaces are folded (`core.text`); dates accept 2021-08-03, 2021/8/3,
2021年8月3日, 20210803 and Excel serials, with an optional time; ID numbers that went through a spreadsheet
number cell are reported as damaged, never repaired (`core.identity`). Messages are translatable and say
what to fix. Pure functions apart from the translation layer.
"""

from __future__ import annotations

import math
import operator
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core import identity, phones
from fangkong.core.divisions_codes import DivisionCodeError, parse_division_code
from fangkong.core.text import CHINA_TIME_ZONE, ParseError, ParseErrorCode, compact, normalize_text, parse_date
from fangkong.people.models import DocumentKind
from fangkong.people.validation import IDENTITY_MESSAGES, PHONE_MESSAGES

DATE_MESSAGES = {
    ParseErrorCode.EMPTY: _("no date given"),
    ParseErrorCode.FORMAT: _("not a date; write it as 2021-08-03 or 2021-08-03 14:30"),
    ParseErrorCode.IMPOSSIBLE_DATE: _("this date does not exist in the calendar"),
    ParseErrorCode.SERIAL_OUT_OF_RANGE: _("a spreadsheet date number must be between 1 and 2958465 (and not 60)"),
}
DOCUMENT_KIND_WORDS: dict[str, str] = {
    "身份证": DocumentKind.RESIDENT_ID,
    "居民身份证": DocumentKind.RESIDENT_ID,
    "二代身份证": DocumentKind.RESIDENT_ID,
    "护照": DocumentKind.PASSPORT,
    "港澳居民来往内地通行证": DocumentKind.HK_MACAO_PERMIT,
    "回乡证": DocumentKind.HK_MACAO_PERMIT,
    "港澳通行证": DocumentKind.HK_MACAO_PERMIT,
    "台湾居民来往大陆通行证": DocumentKind.TAIWAN_PERMIT,
    "台胞证": DocumentKind.TAIWAN_PERMIT,
    "港澳台居民居住证": DocumentKind.HMT_RESIDENCE_PERMIT,
    "居住证": DocumentKind.HMT_RESIDENCE_PERMIT,
    "外国人永久居留身份证": DocumentKind.FOREIGN_PERMANENT_RESIDENCE,
    "永久居留证": DocumentKind.FOREIGN_PERMANENT_RESIDENCE,
}
_TIME_TAIL = re.compile(r"[ T]?(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2})(?:\.\d+)?)?[分秒]?$")
_CJK = re.compile(r"[\u3400-\u9fff\u00b7·]+")
_MOBILE_SHAPE = re.compile(r"1[3-9][0-9]{9}")
# The written shapes lists carry besides plain digits (after width folding and without spaces): a +86 or 0086
# country prefix, and groups joined by hyphens ('+86138-1234-5678'). Anything else goes to libphonenumber.
_MOBILE_WRITTEN = re.compile(r"(?:\+86-?|0086-?)?(1[3-9][0-9])-?([0-9]{4})-?([0-9]{4})")


class CellError(ValueError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def name(value: Any) -> str:
    text = normalize_text(value)
    if not text:
        raise CellError(_("Enter the person's name."))
    if _CJK.fullmatch(text.replace(" ", "")):
        text = text.replace(" ", "")  # '张 三' is 张三; Latin names keep their spaces
    if len(text) > 100:
        raise CellError(_("The name is too long."))
    return text


def document_kind(value: Any) -> str:
    text = compact(value)
    if not text:
        return DocumentKind.RESIDENT_ID
    if text in DocumentKind.values:
        return text
    if text in DOCUMENT_KIND_WORDS:
        return DOCUMENT_KIND_WORDS[text]
    for label, kind in DocumentKind.choices:
        if text.lower() == str(label).lower():
            return str(kind)
    raise CellError(_("Unknown document type %(value)s.") % {"value": text[:40]})


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_PLAIN_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_YEAR_BEFORE_LOADING = date.today().year - 1  # noqa: DTZ011 - a calendar date, as identity; one day of slack


def _plain_resident_id(value: Any) -> bool:
    """Whether `value` is already a clean, valid 18-character resident ID (the shape of almost every row):
    the same checks as `identity.validate_resident_id` — province, a real birth date not in the future nor
    before 1880, the check character — without its normalisation and error paths. Anything else goes the
    full way, which also says what is wrong (a property test checks the two agree)."""
    if type(value) is not str or len(value) != 18 or not _PLAIN_RESIDENT_ID.fullmatch(value):
        return False
    if value[:2] not in identity.PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born < identity.EARLIEST_BIRTH_DATE:
        return False
    # today() (~1 µs a row) only for births since the year before this module was loaded: earlier ones are past
    if born.year >= _YEAR_BEFORE_LOADING and born > date.today():  # noqa: DTZ011 - a calendar date, as identity
        return False
    total = sum(map(operator.mul, map(int, value[:17]), identity.WEIGHTS))
    return identity.CHECK_CHARACTERS[total % 11] == value[17]


def document_number(value: Any, kind: str) -> str:
    """The normalised number; a float or '4.10302E+17' is spreadsheet damage, reported as such."""
    if kind == DocumentKind.RESIDENT_ID and _plain_resident_id(value):
        return str(value)
    try:
        if kind == DocumentKind.RESIDENT_ID:
            return identity.validate_resident_id(value).number
        return identity.validate_document(identity.DocumentKind[DocumentKind(kind).name], value)
    except identity.IdentityError as error:
        if kind == DocumentKind.RESIDENT_ID or error.code not in (
            identity.IdentityErrorCode.FORMAT,
            identity.IdentityErrorCode.REGION,
        ):
            reason: Any = IDENTITY_MESSAGES[error.code]
        else:
            reason = error.message
        raise CellError(_("Invalid document number: %(reason)s") % {"reason": reason}) from error


_mobile_prefix_ok: dict[str, bool] = {}


def mobile(value: Any) -> str:
    """11 plain digits. The common shapes (plain, or with +86/0086 and hyphens between groups) are checked
    against libphonenumber once per 5-digit prefix (its mainland mobile ranges are defined on at most the
    first 5 digits, e.g. 1740[0-5]; property tests check the shortcut against `phones.normalize_mobile`), so
    a million rows stay fast."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = compact(value)
    if not _MOBILE_SHAPE.fullmatch(text):
        written = _MOBILE_WRITTEN.fullmatch(text)
        if written is not None:
            text = "".join(written.groups())
    if _MOBILE_SHAPE.fullmatch(text):
        prefix = text[:5]
        known = _mobile_prefix_ok.get(prefix)
        if known is None:
            known = phones.is_mainland_mobile(text)
            _mobile_prefix_ok[prefix] = known
        if known:
            return text
    try:
        return phones.normalize_mobile(value)
    except phones.PhoneError as error:
        raise CellError(_("Invalid mobile number: %(reason)s") % {"reason": PHONE_MESSAGES[error.code]}) from error


def origin(value: Any) -> tuple[str, str]:
    """(code, name): a division code alone, a name alone, or '郑州市金水区(410105)'."""
    text = normalize_text(value)
    if not text:
        return "", ""
    code_match = re.search(r"(?<![0-9])([1-9][0-9]{5}(?:[0-9]{3}){0,2})(?![0-9])", text)
    code = ""
    if code_match:
        try:
            code = parse_division_code(code_match.group(1)).code
        except DivisionCodeError:
            code = ""
        if code:
            text = (text[: code_match.start()] + text[code_match.end() :]).strip(" ()（）[]【】-")
    return code, text[:100]


def _aware(day: date, at: time | None = None) -> datetime:
    return datetime.combine(day, at or time(0), tzinfo=CHINA_TIME_ZONE)


def moment(value: Any) -> datetime:
    """A cell as an aware datetime in China time; a date alone is its midnight. Raises ParseError (its code
    keys DATE_MESSAGES), so each field words its own message."""
    if is_blank(value):
        raise ParseError(ParseErrorCode.EMPTY, value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA_TIME_ZONE)
    if isinstance(value, date):
        return _aware(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        day = parse_date(value)
        fraction = float(value) - math.floor(float(value)) if 1 <= float(value) < 10_000_000 else 0.0
        return _aware(day) + timedelta(seconds=round(fraction * 86400))
    text = normalize_text(value)
    at = None
    match = _TIME_TAIL.search(text)
    if match:
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ParseError(ParseErrorCode.FORMAT, value)
        at = time(hour, minute, second)
        text = text[: match.start()].strip()
    return _aware(parse_date(text), at)


def arrival(value: Any, *, now: datetime) -> datetime | None:
    """An aware datetime in China time; a date alone is its midnight. Empty is allowed (None)."""
    if is_blank(value):
        return None
    try:
        result = moment(value)
    except ParseError as error:
        raise CellError(_("Invalid arrival date: %(reason)s") % {"reason": DATE_MESSAGES[error.code]}) from error
    if result > now + timedelta(days=1):
        raise CellError(_("The arrival date is in the future."))
    return result


def address(value: Any) -> str:
    return normalize_text(value)[:300]


def community_code(value: Any) -> str:
    """The community's path from a 12-digit code; '' if blank."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        code = parse_division_code(value)
    except DivisionCodeError as error:
        raise CellError(_("Invalid community code: %(reason)s") % {"reason": error.message}) from error
    if code.level != "community":
        raise CellError(_("The code %(code)s is not a village or community.") % {"code": code.code})
    return code.path


def reference(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize_text(value)[:60]
