from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core import phones
from fangkong.core.phones import PhoneError, PhoneErrorCode, is_mainland_mobile, normalize_mobile


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138 1234 5678",
        "86-138-1234-5678",
        "+86-138-1234-5678",
        "0086 138 1234 5678",
        "(+86) 138-1234-5678",
        "138.1234.5678",
        "１３８１２３４５６７８",  # full-width digits from a phone keyboard
        "＋８６ １３８ １２３４ ５６７８",
        " 138\u30001234\u200b5678 ",
        13812345678,  # a number cell
        13812345678.0,
    ],
)
def test_accepted_spellings_normalise_to_11_digits(value: object) -> None:
    assert normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize("value", ["19212345678", "15012345678", "17712345678", "16612345678"])
def test_current_prefixes_are_mobiles(value: str) -> None:
    assert normalize_mobile(value) == value


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_empty(value: object) -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_mobile(value)
    assert caught.value.code is PhoneErrorCode.EMPTY


@pytest.mark.parametrize(
    "value",
    [
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12345678901",  # second digit 2
        "11012345678",
        "10012345678",
        "1381234ABCD",  # letters are not a keypad spelling here
        "138-1234-567x",
        "not a number",
        "+86 138 1234 5678 ext. 12",
    ],
)
def test_malformed_numbers(value: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_mobile(value)
    assert caught.value.code is PhoneErrorCode.FORMAT


@pytest.mark.parametrize("value", ["010-12345678", "0371 6512 3456", "+1 650 253 0000", "+852 9123 4567"])
def test_landlines_and_foreign_numbers_are_not_mainland_mobiles(value: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_mobile(value)
    assert caught.value.code is PhoneErrorCode.NOT_MOBILE


def test_error_carries_code_message_and_value() -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_mobile("1381234567")
    error = caught.value
    assert error.value == "1381234567"
    assert error.message == "not a valid mainland mobile number (11 digits starting with 13–19)"
    assert str(error).endswith("'1381234567'")


@given(st.sampled_from(["13", "15", "18", "19"]), st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_spellings_of_one_valid_number_agree(prefix: str, rest: str) -> None:
    number = prefix + rest
    if not is_mainland_mobile(number):
        return  # an unallocated block (libphonenumber's metadata decides)
    spellings = [
        f"+86 {number[:3]} {number[3:7]} {number[7:]}",
        f"86-{number[:3]}-{number[3:7]}-{number[7:]}",
        f"0086{number}",
        number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]
    assert {normalize_mobile(spelling) for spelling in spellings} == {number}


def test_is_mainland_mobile() -> None:
    assert is_mainland_mobile("13812345678")
    assert not is_mainland_mobile("010-12345678")
    assert not is_mainland_mobile(None)


def test_the_module_never_infers_carrier_or_place() -> None:
    """Numbers are portable since 2019: the carrier and geocoder databases must never be consulted."""
    source = Path(phones.__file__).read_text(encoding="utf-8")
    for forbidden in ("carrier.", "geocoder", "timezone", "from phonenumbers import"):
        assert forbidden not in source
