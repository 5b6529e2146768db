"""The fast paths of the row checks agree with the full checks they short-cut."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.core.identity import IdentityError, make_resident_id, validate_resident_id
from fangkong.core.text import _RUNS_OF_SPACE, normalize_text, to_half_width
from fangkong.screening.imports.normalise import _plain_resident_id

regions = st.sampled_from(["410302", "110105", "310115", "990000", "000000", "810000"])
births = st.dates(min_value=date(1870, 1, 1), max_value=date.today() + timedelta(days=400))  # noqa: DTZ011


def _is_valid(number: str) -> bool:
    try:
        return validate_resident_id(number).number == number
    except IdentityError:
        return False


@settings(max_examples=1000)
@given(regions, births, st.integers(0, 999), st.sampled_from("0123456789Xx"), st.booleans())
def test_the_plain_resident_id_shortcut_agrees(region, born, sequence, last, tamper):
    number = make_resident_id(region, born, sequence)
    if tamper:
        number = number[:17] + last
    assert _plain_resident_id(number) == _is_valid(number)


@given(st.text(alphabet=" \t\n\u3000\u00a0abcXY12１２Ａ-", max_size=8))
def test_normalize_text_fast_path_agrees(value):
    assert normalize_text(value) == _RUNS_OF_SPACE.sub(" ", to_half_width(value)).strip()
