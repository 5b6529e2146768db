"""Identity documents: GB 11643-1999 resident ID numbers and the other documents people present.

A resident ID number has 18 characters: a 6-digit address code (the county at registration, never updated,
so old numbers carry abolished codes — which is why only the province is checked), the birth date YYYYMMDD,
a 3-digit sequence (odd for men), and an ISO 7064 MOD 11-2 check character. 15-digit legacy numbers are
converted by inserting '19' before the year and adding the check character. Pure Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
_FULL_WIDTH = str.maketrans(
    "０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＹＺ",
    "0123456789XxABCDEFGHIJKLMNOPQRSTUVWYZ",
)


class IdentityErrorCode(StrEnum):
    EMPTY = "empty"
    FORMAT = "format"
    CHECK_CHARACTER = "check_character"
    BIRTH_DATE = "birth_date"
    REGION = "region"
    SPREADSHEET_PRECISION = "spreadsheet_precision"


MESSAGES = {
    IdentityErrorCode.EMPTY: "no number given",
    IdentityErrorCode.FORMAT: "must be 18 characters (17 digits and a digit or X) or 15 digits",
    IdentityErrorCode.CHECK_CHARACTER: "the check character does not match (a digit is wrong)",
    IdentityErrorCode.BIRTH_DATE: "the birth date in the number is impossible",
    IdentityErrorCode.REGION: "the region code is not a Chinese province",
    IdentityErrorCode.SPREADSHEET_PRECISION: "the number lost its last digits in a spreadsheet (stored as a number); "
    "get the original",
}


class IdentityError(ValueError):
    def __init__(self, code: IdentityErrorCode, value: str = "") -> None:
        self.code = code
        self.value = value
        self.message = MESSAGES[code]
        super().__init__(f"{self.message}: {value!r}" if value else self.message)


class DocumentKind(Enum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"


@dataclass(frozen=True)
class ResidentId:
    number: str
    region_code: str
    birth_date: date
    sex: str  # 'M' or 'F'
    legacy_converted: bool = False


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def _clean(value: object) -> str:
    text = str(value).translate(_FULL_WIDTH)
    return "".join(text.split()).upper()


def _birth_date(digits: str, raw: str, *, today: date | None = None) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as error:
        raise IdentityError(IdentityErrorCode.BIRTH_DATE, raw) from error
    if born.year < 1800 or born > (today or date.today()):  # noqa: DTZ011 - a calendar date, no time zone
        raise IdentityError(IdentityErrorCode.BIRTH_DATE, raw)
    return born


def convert_legacy_15(value: str) -> str:
    digits = _clean(value)
    if len(digits) != 15 or not digits.isdigit():
        raise IdentityError(IdentityErrorCode.FORMAT, value)
    first17 = digits[:6] + "19" + digits[6:]
    return first17 + check_character(first17)


def validate_resident_id(value: object, *, today: date | None = None) -> ResidentId:
    """Validate and normalise a resident ID number; raise IdentityError with the precise reason."""
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        raise IdentityError(IdentityErrorCode.SPREADSHEET_PRECISION, str(value))
    raw = "" if value is None else str(value)
    number = _clean(raw)
    if not number:
        raise IdentityError(IdentityErrorCode.EMPTY)
    if re.fullmatch(r"[0-9]\.[0-9]+E\+?1[47]", number) or re.fullmatch(r"[0-9]{18}\.0+", number):
        raise IdentityError(IdentityErrorCode.SPREADSHEET_PRECISION, raw)
    legacy = False
    if len(number) == 15 and number.isdigit():
        number, legacy = convert_legacy_15(number), True
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise IdentityError(IdentityErrorCode.FORMAT, raw)
    if number[:2] not in PROVINCES:
        raise IdentityError(IdentityErrorCode.REGION, raw)
    born = _birth_date(number[6:14], raw, today=today)
    if number[17] != check_character(number[:17]):
        if number.endswith("000") and not legacy:
            raise IdentityError(IdentityErrorCode.SPREADSHEET_PRECISION, raw)
        raise IdentityError(IdentityErrorCode.CHECK_CHARACTER, raw)
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number=number, region_code=number[:6], birth_date=born, sex=sex, legacy_converted=legacy)


def make_resident_id(region_code: str, birth_date: date, sequence: int) -> str:
    """A valid number for a region, birth date and 3-digit sequence (odd for men) — for the simulator."""
    if not (len(region_code) == 6 and region_code.isdigit() and 0 <= sequence <= 999):
        raise ValueError("region_code must be 6 digits and sequence 0..999")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


_ISO7064_FOREIGN = re.compile(r"^9[0-9]{16}[0-9X]$")
_PATTERNS: dict[DocumentKind, re.Pattern[str]] = {
    DocumentKind.PASSPORT: re.compile(r"^(?:[EG][0-9]{8}|[EG][A-Z][0-9]{7}|[A-Z0-9]{5,20})$"),
    DocumentKind.HK_MACAO_PERMIT: re.compile(r"^[HM][0-9]{8}(?:[0-9]{2})?$"),
    DocumentKind.TAIWAN_PERMIT: re.compile(r"^[0-9]{8}$"),
    DocumentKind.FOREIGN_PERMANENT_RESIDENCE: re.compile(r"^(?:[A-Z]{3}[0-9]{12}|9[0-9]{16}[0-9X])$"),
}


def validate_document(kind: DocumentKind, value: object) -> str:
    """Validate and normalise a document number of any kind; returns the normalised number."""
    number = _clean("" if value is None else value)
    if not number:
        raise IdentityError(IdentityErrorCode.EMPTY)
    if kind is DocumentKind.RESIDENT_ID:
        return validate_resident_id(value).number
    if kind is DocumentKind.HMT_RESIDENCE_PERMIT:
        if number[:6] not in {"810000", "820000", "830000"}:
            raise IdentityError(IdentityErrorCode.REGION, str(value))
        resident = validate_resident_id(number)
        return resident.number
    if not _PATTERNS[kind].match(number):
        raise IdentityError(IdentityErrorCode.FORMAT, str(value))
    if _ISO7064_FOREIGN.match(number) and kind is DocumentKind.FOREIGN_PERMANENT_RESIDENCE:
        if number[17] != check_character(number[:17]):
            raise IdentityError(IdentityErrorCode.CHECK_CHARACTER, str(value))
    return number
