"""Property tests for the list normalisers: width, spaces, every date spelling, routing by address."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.core.phones import PhoneError, is_mainland_mobile, normalize_mobile
from fangkong.core.text import CHINA_TIME_ZONE, excel_serial
from fangkong.screening.imports import normalise
from fangkong.screening.imports.fields import missing_fields, suggest_mapping
from fangkong.screening.imports.routing import Place, Router

NOW = datetime(2030, 1, 1, tzinfo=CHINA_TIME_ZONE)
days = st.dates(min_value=date(1950, 1, 1), max_value=date(2029, 12, 31))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(days, st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}"]))
def test_every_date_spelling_gives_the_same_day(day, pattern):
    text = pattern.format(y=day.year, m=day.month, d=day.day)
    for value in (text, full_width(text), f" {text} "):
        assert normalise.arrival(value, now=NOW) == datetime.combine(day, datetime.min.time(), tzinfo=CHINA_TIME_ZONE)


@given(days, st.integers(0, 86399))
def test_excel_serials_with_a_time_of_day(day, seconds):
    serial = excel_serial(day) + seconds / 86400
    expected = datetime.combine(day, datetime.min.time(), tzinfo=CHINA_TIME_ZONE) + timedelta(seconds=seconds)
    assert abs((normalise.arrival(serial, now=NOW) - expected).total_seconds()) <= 1


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobiles_in_any_width_and_grouping(number):
    try:
        plain = normalise.mobile(number)
    except normalise.CellError:
        assert not is_mainland_mobile(number)  # the prefix shortcut agrees with libphonenumber
        return  # an unallocated prefix: refused however it is written
    assert is_mainland_mobile(number)
    grouped = f"{number[:3]} {number[3:7]} {number[7:]}"
    assert normalise.mobile(full_width(grouped)) == plain == number
    assert normalise.mobile(f"+86-{grouped}") == number


@settings(max_examples=500)
@given(
    st.from_regex(r"1[0-9]{10}", fullmatch=True),
    st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "0086-", "86", "+85", "+", "00"]),
    st.sampled_from(["", "-", " ", "--", "."]),
    st.booleans(),
)
def test_the_written_mobile_shortcut_agrees_with_libphonenumber(number, prefix, separator, wide):
    value = f"{prefix}{number[:3]}{separator}{number[3:7]}{separator}{number[7:]}"
    if wide:
        value = full_width(value)
    try:
        expected: str | None = normalize_mobile(value)
    except PhoneError:
        expected = None
    try:
        actual: str | None = normalise.mobile(value)
    except normalise.CellError:
        actual = None
    assert actual == expected


@given(st.lists(st.sampled_from("张王李赵钱孙"), min_size=2, max_size=4), st.sampled_from([" ", "  ", "\u3000"]))
def test_chinese_names_lose_stray_spaces(characters, space):
    assert normalise.name(space.join(characters)) == "".join(characters)


def test_the_mapping_is_suggested_from_synonyms():
    headers = ["序号", "人员姓名", "公民身份号码", "联系电话（手机）", "出发地", "入市时间", "居住地址"]
    mapping = suggest_mapping(headers)
    assert mapping == {
        "name": "人员姓名",
        "id_number": "公民身份号码",
        "phone": "联系电话（手机）",
        "origin": "出发地",
        "arrived_at": "入市时间",
        "address": "居住地址",
        "source_reference": "序号",
    }
    assert missing_fields({"name": "x"}) == ["id_number"] and missing_fields({"phone": "p"}) == ["name"]


def test_routing_prefers_the_county_of_the_id_and_never_guesses():
    communities = [
        Place("410302001001", "东社区"),
        Place("410303001001", "东社区"),
        Place("410302001002", "西关东社区"),
    ]
    router = Router(
        city_path="4103",
        communities=communities,
        counties=[Place("410302", "老城区"), Place("410303", "西工区")],
        home_path="4103",
    )
    assert router.community_in("某某路西关东社区3号") == "410302001002"  # the longest name wins
    assert router.community_in("东社区5号", county="410303") == "410303001001"
    assert router.community_in("西工区东社区5号") == "410303001001"  # a county named in the address
    assert router.community_in("东社区5号") == ""  # ambiguous: not guessed
    assert router.unlocated_queue("") == "4103" and router.unlocated_queue("410302") == "410302"
