"""Administrative division codes: GB/T 2260 (6 digits: province 2, prefecture 2, county 2) and the statistics
bureau's 9/12-digit codes (+3 township/street, +3 village/community; in the last 3, 001–199 are urban
communities (居委会) and 200–399 villages (村委会)).

`path` is the significant prefix used for subtree queries: province '41', city '4103', county '410302',
street '410302001', community '410302001001'. Because every level has a fixed width, "everything in city 4103"
is `path LIKE '4103%'` and cannot catch a sibling; that is why the scope mechanism stores the path, not the
padded code.

The statistics bureau publishes every code padded to 12 digits ('410302001000' is a street); those are
accepted and shortened. Only the shape and the province are checked: codes are renamed and abolished every
year, and the platform's own division table, not this module, says which ones exist. Pure Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from fangkong.core.identity import PROVINCES
from fangkong.core.text import compact

Level = Literal["province", "city", "county", "street", "community"]
LEVELS: tuple[Level, ...] = ("province", "city", "county", "street", "community")
VILLAGE_NUMBERS = range(200, 400)
_PATH_LENGTH: dict[Level, int] = {"province": 2, "city": 4, "county": 6, "street": 9, "community": 12}


class DivisionCodeErrorCode(StrEnum):
    FORMAT = "format"
    PROVINCE = "province"
    MISSING_LEVEL = "missing_level"


DIVISION_CODE_MESSAGES: dict[DivisionCodeErrorCode, str] = {
    DivisionCodeErrorCode.FORMAT: "a division code has 6, 9 or 12 digits",
    DivisionCodeErrorCode.PROVINCE: "the code does not start with a Chinese province code",
    DivisionCodeErrorCode.MISSING_LEVEL: "a level between the province and this division is 00 or 000",
}


class DivisionCodeError(ValueError):
    def __init__(self, code: DivisionCodeErrorCode, value: str = "") -> None:
        self.code = code
        self.value = value
        self.message = DIVISION_CODE_MESSAGES[code]
        super().__init__(f"{self.message}: {value!r}" if value else self.message)


@dataclass(frozen=True)
class DivisionCode:
    code: str  # short form: 6 digits up to county level, 9 for a street, 12 for a community
    level: Level
    path: str  # the significant prefix (see module docstring)
    parent_code: str | None  # the parent's code in short form; None for a province
    parent_path: str | None
    is_village: bool  # a village (村) rather than an urban community; False above community level

    @property
    def padded(self) -> str:
        """The 12-digit form the statistics bureau publishes."""
        return self.code.ljust(12, "0")


def _shorten(code: str) -> str:
    """'410302001000' → '410302001', '410302000000' → '410302', '410302000' → '410302'."""
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    return code


def path_level(path: str) -> Level:
    """The level of a path by its length ('4103' → 'city')."""
    for level, length in _PATH_LENGTH.items():
        if len(path) == length:
            return level
    raise DivisionCodeError(DivisionCodeErrorCode.FORMAT, path)


def code_from_path(path: str) -> str:
    """The short code of a path: '41' → '410000', '4103' → '410300', longer paths are their own code."""
    path_level(path)
    return path.ljust(6, "0")


def parse_division_code(raw: object) -> DivisionCode:
    """Parse a 6-, 9- or 12-digit code (padded or not) into its level, path and parent."""
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else compact(raw)
    shown = "" if raw is None else str(raw)
    if not (text.isascii() and text.isdigit() and len(text) in (6, 9, 12)):
        raise DivisionCodeError(DivisionCodeErrorCode.FORMAT, shown)
    code = _shorten(text)
    province, prefecture, county = code[:2], code[2:4], code[4:6]
    if province not in PROVINCES:
        raise DivisionCodeError(DivisionCodeErrorCode.PROVINCE, shown)
    if prefecture == "00" and (county != "00" or len(code) > 6):
        raise DivisionCodeError(DivisionCodeErrorCode.MISSING_LEVEL, shown)
    if len(code) == 6:
        if prefecture == "00":
            return DivisionCode(code, "province", province, None, None, False)
        if county == "00":
            return DivisionCode(code, "city", code[:4], province + "0000", province, False)
        return DivisionCode(code, "county", code, code[:4] + "00", code[:4], False)
    if county == "00":
        raise DivisionCodeError(DivisionCodeErrorCode.MISSING_LEVEL, shown)
    if len(code) == 9:
        return DivisionCode(code, "street", code, code[:6], code[:6], False)
    if code[6:9] == "000":
        raise DivisionCodeError(DivisionCodeErrorCode.MISSING_LEVEL, shown)
    return DivisionCode(code, "community", code, code[:9], code[:9], int(code[9:]) in VILLAGE_NUMBERS)
