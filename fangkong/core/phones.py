"""Mainland mobile numbers, checked with libphonenumber. Never infer carrier or place: numbers are portable."""

from __future__ import annotations

from enum import StrEnum

import phonenumbers

from fangkong.core.identity import _FULL_WIDTH


class PhoneErrorCode(StrEnum):
    EMPTY = "empty"
    FORMAT = "format"
    NOT_MOBILE = "not_mobile"


_MESSAGES = {
    PhoneErrorCode.EMPTY: "no number given",
    PhoneErrorCode.FORMAT: "not a valid mainland number (11 digits starting with 13–19)",
    PhoneErrorCode.NOT_MOBILE: "not a mainland mobile number",
}


class PhoneError(ValueError):
    def __init__(self, code: PhoneErrorCode, value: str = "") -> None:
        self.code = code
        self.message = _MESSAGES[code]
        super().__init__(f"{self.message}: {value!r}")


def normalize_mobile(value: object) -> str:
    """'+86 138-1234-5678' -> '13812345678'; raise PhoneError otherwise."""
    raw = "" if value is None else str(value).translate(_FULL_WIDTH).strip()
    if not raw:
        raise PhoneError(PhoneErrorCode.EMPTY)
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as error:
        raise PhoneError(PhoneErrorCode.FORMAT, raw) from error
    national = str(parsed.national_number)
    if parsed.country_code != 86 or len(national) != 11 or national[0] != "1" or national[1] not in "3456789":
        raise PhoneError(PhoneErrorCode.FORMAT, raw)
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(PhoneErrorCode.FORMAT, raw)
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise PhoneError(PhoneErrorCode.NOT_MOBILE, raw)
    return national
