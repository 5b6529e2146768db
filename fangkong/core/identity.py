"""Identity documents: GB 11643-1999 resident ID numbers and the other documents people present.

A resident ID number has 18 characters: a 6-digit address code, the birth date YYYYMMDD, a 3-digit sequence
(odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2. The address code is the
county where the number was first issued and is never updated, so old numbers carry codes that have since
been abolished: only the province (the first two digits) can be checked without a historical code table, and
we add no dependency for one. 15-digit numbers (issued before 1999) convert by inserting '19' before the
two-digit year and appending the check character.

Numbers that went through a spreadsheet are the commonest bad input: Excel keeps 15 significant digits, so an
18-digit number typed into a number cell comes back as 410302199001011000 or 4.10302E+17. Those are reported
as "lost precision in a spreadsheet" and never repaired — the lost digits cannot be guessed, and a guessed
number would merge two people.

Error messages are plain English strings, one per code, so the Django layer can translate by code. Pure
Python, no Django: the simulator generates its millions of numbers against this reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum

from fangkong.core.text import compact

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# GB/T 2260 province-level codes, Taiwan (71), Hong Kong (81) and Macao (82) included.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
# Residence permits for Hong Kong, Macao and Taiwan residents use these address codes (83 = Taiwan here).
HMT_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})
# The standard's own example 440524188001010014 is born on 1880-01-01, and residents born in the 1880s were
# registered, so the floor is 1880 rather than 1900: rejecting a real person at a testing site costs more
# than accepting an unlikely year (a one-digit slip in the year is caught by the check character anyway).
EARLIEST_BIRTH_DATE = date(1880, 1, 1)
# Excel stores at most 15 significant digits; any longer number that passed through a number type is suspect.
_SPREADSHEET_SIGNIFICANT_DIGITS = 15
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]{1,2}")
_NUMBER_WITH_FRACTION = re.compile(r"[0-9]{16,18}\.[0-9]+")
_LEGACY_AS_FLOAT_TEXT = re.compile(r"([0-9]{15})\.0+")  # a 15-digit number survives a number cell


class DocumentKind(Enum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"  # 回乡证
    TAIWAN_PERMIT = "taiwan_permit"  # 台胞证
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"  # 外国人永久居留身份证


class IdentityErrorCode(StrEnum):
    EMPTY = "empty"
    FORMAT = "format"  # wrong length or characters
    CHECK_CHARACTER = "check_character"
    BIRTH_DATE = "birth_date"  # impossible, in the future or before 1880
    REGION = "region"
    SPREADSHEET_PRECISION = "spreadsheet_precision"


MESSAGES: dict[IdentityErrorCode, str] = {
    IdentityErrorCode.EMPTY: "no number given",
    IdentityErrorCode.FORMAT: "must be 18 characters (17 digits and a digit or X) or 15 digits",
    IdentityErrorCode.CHECK_CHARACTER: "the check character does not match (a digit is wrong)",
    IdentityErrorCode.BIRTH_DATE: "the birth date in the number is impossible",
    IdentityErrorCode.REGION: "the region code is not a Chinese province",
    IdentityErrorCode.SPREADSHEET_PRECISION: "the number lost its last digits in a spreadsheet (stored as a number); "
    "get the original",
}


class IdentityError(ValueError):
    """An identity number that cannot be accepted; `code` says why, `value` is what was given."""

    def __init__(self, code: IdentityErrorCode, value: str = "", *, message: str | None = None) -> None:
        self.code = code
        self.value = value
        self.message = message or MESSAGES[code]
        super().__init__(f"{self.message}: {value!r}" if value else self.message)


# Other documents reuse the codes, with their own wording for a wrong shape.
DOCUMENT_FORMAT_MESSAGES: dict[DocumentKind, str] = {
    DocumentKind.RESIDENT_ID: MESSAGES[IdentityErrorCode.FORMAT],
    DocumentKind.PASSPORT: "a passport number has 5 to 20 letters and digits (Chinese: E or G and 8 digits)",
    DocumentKind.HK_MACAO_PERMIT: "a Home Return Permit number is H or M followed by 8 or 10 digits",
    DocumentKind.TAIWAN_PERMIT: "a Taiwan compatriot permit number has 8 digits",
    DocumentKind.HMT_RESIDENCE_PERMIT: "a residence permit number has 18 characters like a resident ID number",
    DocumentKind.FOREIGN_PERMANENT_RESIDENCE: "a permanent residence ID has 3 letters and 12 digits, "
    "or 18 characters starting with 9",
}
HMT_REGION_MESSAGE = "a residence permit number starts with 810000, 820000 or 830000"


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: 18 characters, capital X
    region_code: str  # the 6-digit address code as issued (may be abolished since)
    birth_date: date
    sex: str  # 'M' or 'F', from the parity of the sequence
    legacy_converted: bool = False  # given as a 15-digit number and converted


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("check_character needs exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def _clean(value: object) -> str:
    """Width-folded, spaces removed, upper case: '４１０３ ０２…ｘ' → '410302…X'."""
    return compact(value).upper()


def _spreadsheet_damage(value: object, text: str) -> bool:
    """Whether the value went through a number type that cannot hold 18 digits."""
    if isinstance(value, float):
        return not value.is_integer() or abs(value) >= 10**_SPREADSHEET_SIGNIFICANT_DIGITS
    if isinstance(value, int) and not isinstance(value, bool):
        return len(str(abs(value))) > _SPREADSHEET_SIGNIFICANT_DIGITS
    return bool(_SCIENTIFIC.fullmatch(text) or _NUMBER_WITH_FRACTION.fullmatch(text))


def _birth_date(digits: str, raw: str, today: date | None) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as error:
        raise IdentityError(IdentityErrorCode.BIRTH_DATE, raw) from error
    if born < EARLIEST_BIRTH_DATE or born > (today or date.today()):  # noqa: DTZ011 - a calendar date
        raise IdentityError(IdentityErrorCode.BIRTH_DATE, raw)
    return born


def convert_legacy_15(value: str) -> str:
    """'410302900101123' → '41030219900101123' + check character. Every 15-digit number means 19xx."""
    digits = _clean(value)
    if len(digits) != 15 or not digits.isascii() or not digits.isdigit():
        raise IdentityError(IdentityErrorCode.FORMAT, value)
    first17 = digits[:6] + "19" + digits[6:]
    return first17 + check_character(first17)


def _validate_gb11643(
    value: object, *, regions_ok: frozenset[str], region_length: int, allow_legacy: bool, today: date | None
) -> ResidentId:
    raw = "" if value is None else str(value)
    number = _clean(value if isinstance(value, str) else raw)
    if isinstance(value, float) and value.is_integer() and not _spreadsheet_damage(value, number):
        number = str(int(value))  # a 15-digit legacy number survives a number cell intact
    elif match := _LEGACY_AS_FLOAT_TEXT.fullmatch(number):
        number = match.group(1)
    if not number:
        raise IdentityError(IdentityErrorCode.EMPTY)
    if _spreadsheet_damage(value, number):
        raise IdentityError(IdentityErrorCode.SPREADSHEET_PRECISION, raw)
    legacy = False
    if allow_legacy and len(number) == 15 and number.isascii() and number.isdigit():
        number, legacy = convert_legacy_15(number), True
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise IdentityError(IdentityErrorCode.FORMAT, raw)
    if number[:region_length] not in regions_ok:
        raise IdentityError(IdentityErrorCode.REGION, raw)
    born = _birth_date(number[6:14], raw, today)
    if number[17] != check_character(number[:17]):
        if number.endswith("000"):
            # What Excel leaves of an 18-digit number; a real one ending in 000 passes the check above.
            raise IdentityError(IdentityErrorCode.SPREADSHEET_PRECISION, raw)
        raise IdentityError(IdentityErrorCode.CHECK_CHARACTER, raw)
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number=number, region_code=number[:6], birth_date=born, sex=sex, legacy_converted=legacy)


def validate_resident_id(value: object, *, today: date | None = None) -> ResidentId:
    """Validate and normalise a resident ID number (18 or legacy 15 digits); raise IdentityError with the reason.

    Order of checks (the first failure is reported): empty; spreadsheet damage (a float, an int longer than
    15 digits, '4.10302E+17', '410302199001011234.0'); shape; province; birth date (real, not after `today`,
    not before 1880); check character — where a failing number ending in '000' is reported as spreadsheet
    damage, since that is what Excel leaves.
    """
    return _validate_gb11643(value, regions_ok=PROVINCES, region_length=2, allow_legacy=True, today=today)


def make_resident_id(region_code: str, birth_date: date, sequence: int) -> str:
    """A valid number for a region, birth date and 3-digit sequence (odd for men) — for the simulator."""
    if not (len(region_code) == 6 and region_code.isascii() and region_code.isdigit() and 0 <= sequence <= 999):
        raise ValueError("region_code must be 6 digits and sequence 0..999")
    if not 0 <= birth_date.year <= 9999:
        raise ValueError("birth year out of range")
    first17 = f"{region_code}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{sequence:03d}"
    return first17 + check_character(first17)


_DOCUMENT_PATTERNS: dict[DocumentKind, re.Pattern[str]] = {
    # Chinese passports: E or G and 8 digits, or (e-passports since 2017) E, a letter and 7 digits. Foreign
    # passports vary: 5 to 20 letters and digits with at least one digit (a name typed in the field fails).
    DocumentKind.PASSPORT: re.compile(r"[EG][0-9]{8}|E[A-Z][0-9]{7}|(?=[A-Z]*[0-9])[A-Z0-9]{5,20}"),
    DocumentKind.HK_MACAO_PERMIT: re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?"),
    DocumentKind.TAIWAN_PERMIT: re.compile(r"[0-9]{8}"),
    DocumentKind.FOREIGN_PERMANENT_RESIDENCE: re.compile(r"[A-Z]{3}[0-9]{12}|9[0-9]{16}[0-9X]"),
}


def _validate_foreign_2017(number: str, raw: str, today: date | None) -> None:
    """2017 format: 9, issuing province (2), nationality (3), birth date (8), sequence (3), check character."""
    _birth_date(number[6:14], raw, today)
    if number[17] != check_character(number[:17]):
        raise IdentityError(IdentityErrorCode.CHECK_CHARACTER, raw)


def validate_document(kind: DocumentKind, value: object, *, today: date | None = None) -> str:
    """Validate and normalise a document number of any kind; return the normalised number.

    Letters are upper-cased and full-width characters folded; the number is otherwise returned as given.
    """
    if kind is DocumentKind.RESIDENT_ID:
        return validate_resident_id(value, today=today).number
    raw = "" if value is None else str(value)
    number = _clean(raw)
    if not number:
        raise IdentityError(IdentityErrorCode.EMPTY)
    format_error = IdentityError(IdentityErrorCode.FORMAT, raw, message=DOCUMENT_FORMAT_MESSAGES[kind])
    if kind is DocumentKind.HMT_RESIDENCE_PERMIT:
        try:
            return _validate_gb11643(
                value, regions_ok=HMT_PERMIT_REGIONS, region_length=6, allow_legacy=False, today=today
            ).number
        except IdentityError as error:
            if error.code is IdentityErrorCode.FORMAT:
                raise format_error from error
            if error.code is IdentityErrorCode.REGION:
                raise IdentityError(IdentityErrorCode.REGION, raw, message=HMT_REGION_MESSAGE) from error
            raise
    if not _DOCUMENT_PATTERNS[kind].fullmatch(number):
        raise format_error
    if kind is DocumentKind.FOREIGN_PERMANENT_RESIDENCE and len(number) == 18:
        _validate_foreign_2017(number, raw, today)
    return number
