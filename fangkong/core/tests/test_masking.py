from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.identity import make_resident_id
from fangkong.core.masking import find_unmasked, looks_unmasked_id, mask_id_number, mask_name, mask_phone

ID = "11010519491231002X"
ids = st.builds(
    make_resident_id,
    st.sampled_from(["110105", "410302", "440524", "650102"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2021, 8, 3)),
    st.integers(min_value=0, max_value=999),
)
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


def visible(masked: str) -> int:
    return sum(character != "*" for character in masked)


# --- mask_id_number ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("410302199001011234", "410302********1234"),
        (ID, "110105********002X"),
        ("410302900101123", "410302******123"),  # 15 digits: the birth date stays hidden
        ("E12345678", "E1****678"),  # 9: keep 2 + 3
        ("USA110081001234", "USA110******234"),  # 15: keep 6 + 3
        ("12345678", "1*****78"),  # 8: keep 1 + 2
        ("12345", "1**45"),
        ("1234", "****"),
        ("1", "*"),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize("function", [mask_id_number, mask_phone, mask_name])
@pytest.mark.parametrize("value", [None, ""])
def test_none_and_empty_are_safe(function: object, value: str | None) -> None:
    assert function(value) == ""  # type: ignore[operator]


@given(st.text(alphabet="0123456789ABCDEFGHXYZ", min_size=1, max_size=30))
def test_mask_id_never_reveals_more_than_allowed(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    n = len(value)
    allowed = 10 if n >= 18 else 9 if n >= 15 else 5 if n >= 9 else 3 if n >= 5 else 0
    assert visible(masked) <= allowed
    assert (n - visible(masked)) * 5 >= n * 2  # at least 40 % is always hidden
    for position, character in enumerate(masked):
        assert character in ("*", value[position])  # nothing is invented or moved


@given(ids)
def test_a_masked_id_is_never_found_by_the_scanner(number: str) -> None:
    assert find_unmasked(number) == [number]
    masked = mask_id_number(number)
    assert find_unmasked(masked) == []
    assert masked[6:14] == "*" * 8  # the birth date never shows
    legacy = number[:6] + number[8:17]
    assert mask_id_number(legacy)[6:12] == "*" * 6


# --- mask_phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86*******5678"),
        ("01012345678", "010****5678"),
        ("65123456", "65****56"),
        ("123456", "******"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@given(st.text(alphabet="0123456789+- ", min_size=1, max_size=20))
def test_mask_phone_never_reveals_more_than_allowed(value: str) -> None:
    masked = mask_phone(value)
    assert len(masked) == len(value)
    assert visible(masked) <= (7 if len(value) >= 11 else 4 if len(value) >= 7 else 0)
    assert visible(masked) < len(value) or len(value) == 0


@given(mobiles)
def test_a_masked_mobile_is_never_found_by_the_scanner(number: str) -> None:
    assert find_unmasked(f"tel: {number}.") == [number]
    assert find_unmasked(f"tel: {mask_phone(number)}.") == []


# --- mask_name ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三丰", "张*丰"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王", "*"), ("John Smith", "J********h")],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@given(st.text(min_size=1, max_size=12))
def test_mask_name_shows_at_most_the_first_and_last_character(value: str) -> None:
    masked = mask_name(value)
    assert len(masked) == len(value)
    assert masked[1:-1] == "*" * max(len(value) - 2, 0)
    hidden = value if len(value) == 1 else value[1:] if len(value) == 2 else value[1:-1]
    assert masked != value or set(hidden) == {"*"}  # unchanged only when the hidden part was stars already


# --- the leak scanner --------------------------------------------------------------------------------


def test_scanner_finds_ids_and_mobiles_in_html() -> None:
    html = f"<td>{ID}</td><td>13812345678</td><td>110105********002X</td><td>138****5678</td>"
    assert find_unmasked(html) == [ID, "13812345678"]
    assert looks_unmasked_id(html)


def test_scanner_reports_lower_case_x_normalised() -> None:
    assert find_unmasked("id 11010519491231002x!") == [ID]


def test_scanner_sees_full_width_and_grouped_numbers() -> None:
    assert find_unmasked("１１０１０５１９４９１２３１００２Ｘ") == [ID]
    assert find_unmasked("110105 19491231 002X") == [ID]
    assert find_unmasked("110105-19491231-002X") == [ID]
    assert find_unmasked("138 1234 5678 and 138-1234-5678") == ["13812345678", "13812345678"]


def test_scanner_ignores_numbers_with_a_wrong_check_character_or_wrong_length() -> None:
    assert find_unmasked("110105194912310021") == []  # wrong check character: not an ID number
    assert find_unmasked("911010519491231002X") == []  # part of a longer number
    assert find_unmasked("123456789012345678901234") == []
    assert find_unmasked("12812345678 1381234567 138123456789") == []
    assert not looks_unmasked_id("nothing here 2021-08-03 110105")


def test_scanner_does_not_report_a_mobile_inside_an_id_number() -> None:
    number = make_resident_id("410302", date(1990, 1, 1), 123)
    assert find_unmasked(number) == [number]


@given(st.lists(st.one_of(ids, mobiles), min_size=1, max_size=5), st.sampled_from([" ", "<br>", "；", ","]))
def test_scanner_finds_every_leak_in_joined_text(leaks: list[str], separator: str) -> None:
    found = find_unmasked(separator.join(leaks))
    assert sorted(found) == sorted(leaks)
    masked = separator.join(mask_id_number(x) if len(x) == 18 else mask_phone(x) for x in leaks)
    assert find_unmasked(masked) == []
