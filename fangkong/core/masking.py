"""Masking of identity numbers, phones and names — the only place these display rules live.

Pages, API answers, exports and audit rows show masked values; a template that prints a full ID number is a
bug. The visible parts are what a caller needs to confirm a person on the phone — the issuing area and the
last digits of an ID number, the last four digits of a mobile, the family name — and nothing more.

`find_unmasked()` is the scanner the test suite runs over every page and export to prove that no full
resident ID number (with a valid check character) or full mainland mobile number leaks. It is deliberately
broader than the display format: it also sees full-width digits and numbers written in groups
('410302 19900101 1234', '138 1234 5678'), because those leak just as much. Pure Python, no Django.
"""

from __future__ import annotations

import re

from fangkong.core.identity import check_character
from fangkong.core.text import to_half_width

MASK = "*"
# How many characters stay visible at each end, by the length of the document number.
# 6 + 4 hides the whole birth date of an 18-digit number; a 15-digit one keeps 6 + 3 for the same reason.
_ID_VISIBLE = ((18, 6, 4), (15, 6, 3), (9, 2, 3), (5, 1, 2))  # (minimum length, head, tail); shorter: all masked
# A digit boundary on both sides: a 19-digit serial or a longer number is not an ID number. Groups of
# 6-8-4 or 3-4-4 with one space or hyphen between are caught as well.
_FULL_ID = re.compile(r"(?<![0-9])([1-9][0-9]{5})[ -]?([0-9]{8})[ -]?([0-9]{3}[0-9Xx])(?![0-9])")
_FULL_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")


def mask_id_number(value: str | None) -> str:
    """'410302199001011234' → '410302********1234'; shorter documents keep fewer characters.

    18 characters or more keep 6 + 4, 15–17 keep 6 + 3 (the birth date of a resident ID number stays hidden),
    passports and permits of 9–14 keep 2 + 3, short ones (5–8) 1 + 2, anything shorter is fully masked: at least
    40 % of every number is always hidden.
    """
    if not value:
        return ""
    length = len(value)
    for minimum, head, tail in _ID_VISIBLE:
        if length >= minimum:
            return value[:head] + MASK * (length - head - tail) + value[length - tail :]
    return MASK * length


def mask_phone(value: str | None) -> str:
    """'13812345678' → '138****5678'. Numbers of 7–10 characters keep 2 + 2; shorter ones are fully masked."""
    if not value:
        return ""
    length = len(value)
    if length >= 11:
        head, tail = 3, 4
    elif length >= 7:
        head, tail = 2, 2
    else:
        return MASK * length
    return value[:head] + MASK * (length - head - tail) + value[length - tail :]


def mask_name(value: str | None) -> str:
    """'张三丰' → '张*丰', '张三' → '张*', '欧阳娜娜' → '欧**娜'; a one-character name is fully masked."""
    if not value:
        return ""
    if len(value) == 1:
        return MASK
    if len(value) == 2:
        return value[0] + MASK
    return value[0] + MASK * (len(value) - 2) + value[-1]


def _is_valid_resident_id(number: str) -> bool:
    return check_character(number[:17]) == number[17].upper()


def find_unmasked(text: str) -> list[str]:
    """Every full resident ID number (valid check character) and full mainland mobile in `text`, as found
    (digits half-width, groups joined), IDs first."""
    text = to_half_width(text)
    ids = ["".join(match.groups()) for match in _FULL_ID.finditer(text)]
    found = [number.upper() for number in ids if _is_valid_resident_id(number)]
    found += ["".join(match.groups()) for match in _FULL_MOBILE.finditer(text)]
    return found


def looks_unmasked_id(text: str) -> bool:
    """Whether `text` contains any full resident ID number or mainland mobile (see `find_unmasked`)."""
    return bool(find_unmasked(text))
