from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.text import (
    ParseError,
    ParseErrorCode,
    compact,
    excel_serial,
    normalize_text,
    parse_date,
    to_half_width,
)

# --- width and spaces --------------------------------------------------------------------------------


def test_full_width_ascii_folds_to_half_width() -> None:
    assert to_half_width("１３８ＡＢＣａｂｃ（）：，！＋－") == "138ABCabc():,!+-"


def test_chinese_characters_and_punctuation_are_left_alone() -> None:
    # NFKC would turn ① into 1, ㈠ into (一) and ² into 2; none of that belongs in a name or an address.
    text = "郑州市金水区①号楼㈠单元，面积50m²。《通知》、“引号”"
    assert to_half_width(text) == text.replace("，", ",")
    assert normalize_text("北京市　朝阳区") == "北京市 朝阳区"


def test_zero_width_and_odd_spaces() -> None:
    assert normalize_text("\ufeff张\u200b三\u00a0丰\u2003 \t\n") == "张三 丰"
    assert normalize_text("a\u00adb") == "ab"  # soft hyphen
    assert compact(" 138 1234\u30005678 ") == "13812345678"


def test_normalize_text_of_none_and_non_strings() -> None:
    assert normalize_text(None) == ""
    assert normalize_text(12) == "12"


@given(st.text())
def test_normalize_text_is_idempotent_and_has_no_stray_spaces(value: str) -> None:
    once = normalize_text(value)
    assert normalize_text(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(0xFF01 <= ord(character) <= 0xFF5E for character in once)
    assert "\u200b" not in once and "\u3000" not in once


# --- parse_date --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2021-08-03",
        "2021-8-3",
        "2021/8/3",
        "2021/08/03",
        "2021.8.3",
        "20210803",
        "2021年8月3日",
        "2021年08月03日",
        "2021年8月3号",
        "2021 年 8 月 3 日",
        "２０２１－０８－０３",
        "２０２１年８月３日",
        "2021-08-03 00:00:00",
        "2021-08-03T14:30",
        "2021/8/3 9:05",
        " 2021-08-03\u200b",
        44411,
        44411.75,  # the fraction is the time of day
        "44411",
        20210803,  # a date typed without separators into a number cell
        20210803.0,
        date(2021, 8, 3),
        datetime(2021, 8, 3, 23, 59),  # noqa: DTZ001 - a naive datetime is taken as it is
    ],
)
def test_accepted_formats(value: object) -> None:
    assert parse_date(value) == date(2021, 8, 3)


def test_an_aware_datetime_is_read_in_china_time() -> None:
    assert parse_date(datetime(2021, 8, 2, 16, 30, tzinfo=UTC)) == date(2021, 8, 3)
    assert parse_date(datetime(2021, 8, 3, 1, 0, tzinfo=timezone(timedelta(hours=8)))) == date(2021, 8, 3)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),  # serial 60 is Excel's phantom 1900-02-29
        (367, date(1901, 1, 1)),
        (44197, date(2021, 1, 1)),
        (2958465, date(9999, 12, 31)),
    ],
)
def test_excel_serials_in_the_1900_system(serial: int, expected: date) -> None:
    assert parse_date(serial) == expected
    assert excel_serial(expected) == serial


@pytest.mark.parametrize("serial", [0, -1, 60, 2958466, 1e12])
def test_excel_serials_out_of_range(serial: float) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(serial)
    assert caught.value.code is ParseErrorCode.SERIAL_OUT_OF_RANGE


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_empty(value: object) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(value)
    assert caught.value.code is ParseErrorCode.EMPTY


@pytest.mark.parametrize(
    "value",
    [
        "21/8/3",  # two-digit year
        "3/8/2021",  # day first
        "2021-08/03",  # mixed separators
        "2021-8-312:00",  # the time glued to the day is ambiguous
        "2021年8月",
        "August 3, 2021",
        "2021080",
        "202108031",
        "1234",  # as text, only 5-digit serials
        True,
        float("nan"),
        float("inf"),
        [2021, 8, 3],
    ],
)
def test_not_a_date(value: object) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(value)
    assert caught.value.code is ParseErrorCode.FORMAT


@pytest.mark.parametrize("value", ["2021-02-29", "2021/13/1", "2021年4月31日", "20210230", "2021.0.10", 20210230])
def test_impossible_dates(value: object) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(value)
    assert caught.value.code is ParseErrorCode.IMPOSSIBLE_DATE
    assert caught.value.message == "this date does not exist in the calendar"


def test_error_names_the_value() -> None:
    with pytest.raises(ParseError, match="'3/8/2021'"):
        parse_date("3/8/2021")


def test_excel_serial_refuses_dates_before_1900() -> None:
    with pytest.raises(ValueError, match="1900"):
        excel_serial(date(1899, 12, 31))


FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: to_full_width(d.isoformat()),
    lambda d: datetime(d.year, d.month, d.day, 12),  # noqa: DTZ001
    lambda d: d,
    excel_serial,
    lambda d: float(excel_serial(d)) + 0.5,
]


def to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)), st.sampled_from(FORMATS))
def test_every_format_round_trips(day: date, render: object) -> None:
    assert parse_date(render(day)) == day  # type: ignore[operator]


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_excel_serial_round_trips(day: date) -> None:
    serial = excel_serial(day)
    assert serial != 60
    assert parse_date(serial) == day
    if 10000 <= serial <= 99999:  # text serials are read only with 5 digits
        assert parse_date(str(serial)) == day
