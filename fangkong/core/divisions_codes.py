"""Administrative division codes: GB/T 2260 (6 digits: province, prefecture, county) and the statistics
bureau's 9/12-digit codes (+3 township/street, +3 village/community; in the last 3, 001–199 are urban
communities and 200–399 villages).

`path` is the significant prefix used for subtree queries: province '41', city '4103', county '410302',
street '410302001', community '410302001001'. Fixed widths per level make a prefix match exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Level = Literal["province", "city", "county", "street", "community"]
_DIGITS = re.compile(r"^[0-9]+$")


class DivisionCodeError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DivisionCode:
    code: str
    level: Level
    path: str
    parent_code: str | None
    parent_path: str | None
    is_village: bool


def _short(code: str) -> str:
    """Normalise a 12-digit padded form ('410302001000') to its short form ('410302001')."""
    if len(code) == 12:
        if code[9:] == "000":
            code = code[:9]
            if code[6:] == "000":
                code = code[:6]
    return code


def parse_division_code(raw: str) -> DivisionCode:
    code = _short(str(raw).strip())
    if not _DIGITS.match(code) or len(code) not in (6, 9, 12):
        raise DivisionCodeError(f"'{raw}' is not a 6-, 9- or 12-digit division code")
    province, prefecture, county = code[:2], code[2:4], code[4:6]
    if province == "00":
        raise DivisionCodeError(f"'{raw}' has no province")
    if len(code) == 6:
        if prefecture == "00" and county == "00":
            return DivisionCode(code, "province", province, None, None, False)
        if county == "00":
            return DivisionCode(code, "city", code[:4], province + "0000", province, False)
        return DivisionCode(code, "county", code, code[:4] + "00", code[:4], False)
    if county == "00":
        raise DivisionCodeError(f"'{raw}': a township or community code needs a county")
    if len(code) == 9:
        if code[6:] == "000":
            raise DivisionCodeError(f"'{raw}': township/street number 000 is not valid")
        return DivisionCode(code, "street", code, code[:6], code[:6], False)
    if code[6:9] == "000" or code[9:] == "000":
        raise DivisionCodeError(f"'{raw}': street and community numbers cannot be 000")
    number = int(code[9:])
    return DivisionCode(code, "community", code, code[:9], code[:9], 200 <= number <= 399)
