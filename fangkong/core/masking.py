"""Masking of identity numbers, phones and names — the only place these display rules live.

Pages, API answers and exports show masked values; `find_unmasked()` is the scanner tests use to prove that no
page or export leaks a full resident ID number or mobile number.
"""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FULL_ID = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_FULL_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")


def mask_id_number(value: str | None) -> str:
    """'410302199001011234' -> '410302********1234'; shorter documents keep fewer characters."""
    if not value:
        return ""
    n = len(value)
    if n >= 15:
        head, tail = 6, 4
    elif n >= 9:
        head, tail = 2, 3
    elif n >= 5:
        head, tail = 1, 2
    else:
        return "*" * n
    return value[:head] + "*" * (n - head - tail) + value[n - tail :]


def mask_phone(value: str | None) -> str:
    """'13812345678' -> '138****5678'."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """'张三丰' -> '张*丰', '张三' -> '张*'."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _is_valid_resident_id(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def find_unmasked(text: str) -> list[str]:
    """Every full resident ID number (with a valid check character) and full mainland mobile in `text`."""
    found = [m for m in _FULL_ID.findall(text) if _is_valid_resident_id(m)]
    found += _FULL_MOBILE.findall(text)
    return found


def looks_unmasked_id(text: str) -> bool:
    return bool(find_unmasked(text))
