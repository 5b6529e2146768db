"""Mainland mobile numbers, checked with libphonenumber and stored as 11 plain digits.

People type numbers as '13812345678', '+86 138 1234 5678', '86-138-1234-5678', '0086…' or in full-width
digits from a phone keyboard; all of them are the same subscriber, and identity resolution needs one spelling.
libphonenumber knows which 1xx prefixes are allocated, which a hand-written regex goes stale on.

Never infer carrier or place from the prefix: numbers have been portable between carriers since 2019, and a
prefix says nothing about where a person lives. Pure Python, no Django.
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers

from fangkong.core.text import normalize_text

MAINLAND_COUNTRY_CODE = 86
_MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
# Digits and the punctuation people put between groups. Letters are refused outright: libphonenumber would
# otherwise read them as a keypad vanity number ('1381234ABCD').
_ALLOWED = re.compile(r"[0-9+\-(). ]+")


class PhoneErrorCode(StrEnum):
    EMPTY = "empty"
    FORMAT = "format"
    NOT_MOBILE = "not_mobile"  # a valid number, but a landline or abroad


PHONE_MESSAGES: dict[PhoneErrorCode, str] = {
    PhoneErrorCode.EMPTY: "no number given",
    PhoneErrorCode.FORMAT: "not a valid mainland mobile number (11 digits starting with 13–19)",
    PhoneErrorCode.NOT_MOBILE: "not a mainland mobile number",
}


class PhoneError(ValueError):
    def __init__(self, code: PhoneErrorCode, value: str = "") -> None:
        self.code = code
        self.value = value
        self.message = PHONE_MESSAGES[code]
        super().__init__(f"{self.message}: {value!r}" if value else self.message)


def normalize_mobile(value: object) -> str:
    """'+86 138-1234-5678' → '13812345678'; raise PhoneError with the reason otherwise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an 11-digit number survives a spreadsheet number cell
    raw = normalize_text(value)
    if not raw:
        raise PhoneError(PhoneErrorCode.EMPTY)
    if not _ALLOWED.fullmatch(raw):
        raise PhoneError(PhoneErrorCode.FORMAT, raw)
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as error:
        raise PhoneError(PhoneErrorCode.FORMAT, raw) from error
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(PhoneErrorCode.FORMAT, raw)
    if parsed.country_code != MAINLAND_COUNTRY_CODE or phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise PhoneError(PhoneErrorCode.NOT_MOBILE, raw)
    national = str(parsed.national_number)
    if not re.fullmatch(r"1[3-9][0-9]{9}", national):  # belt and braces: what we store is always this shape
        raise PhoneError(PhoneErrorCode.FORMAT, raw)
    return national


def is_mainland_mobile(value: object) -> bool:
    try:
        normalize_mobile(value)
    except PhoneError:
        return False
    return True
