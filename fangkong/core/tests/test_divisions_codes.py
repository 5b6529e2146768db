from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.divisions_codes import (
    DivisionCode,
    DivisionCodeError,
    DivisionCodeErrorCode,
    code_from_path,
    parse_division_code,
    path_level,
)
from fangkong.core.identity import PROVINCES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("410000", DivisionCode("410000", "province", "41", None, None, False)),
        ("410300", DivisionCode("410300", "city", "4103", "410000", "41", False)),
        ("410302", DivisionCode("410302", "county", "410302", "410300", "4103", False)),
        ("410302001", DivisionCode("410302001", "street", "410302001", "410302", "410302", False)),
        ("410302001001", DivisionCode("410302001001", "community", "410302001001", "410302001", "410302001", False)),
        ("410302001199", DivisionCode("410302001199", "community", "410302001199", "410302001", "410302001", False)),
        ("410302101200", DivisionCode("410302101200", "community", "410302101200", "410302101", "410302101", True)),
        ("410302101399", DivisionCode("410302101399", "community", "410302101399", "410302101", "410302101", True)),
        ("410302101400", DivisionCode("410302101400", "community", "410302101400", "410302101", "410302101", False)),
        ("419001", DivisionCode("419001", "county", "419001", "419000", "4190", False)),  # 济源: prefecture 90
    ],
)
def test_levels_paths_and_parents(raw: str, expected: DivisionCode) -> None:
    assert parse_division_code(raw) == expected


@pytest.mark.parametrize(
    ("padded", "short", "level"),
    [
        ("410000000000", "410000", "province"),
        ("410300000000", "410300", "city"),
        ("410302000000", "410302", "county"),
        ("410302000", "410302", "county"),
        ("410302001000", "410302001", "street"),
        (" 410302001000 ", "410302001", "street"),
        ("４１０３０２００１０００", "410302001", "street"),
        (410302001000, "410302001", "street"),
    ],
)
def test_padded_forms_are_shortened(padded: object, short: str, level: str) -> None:
    code = parse_division_code(padded)
    assert (code.code, code.level) == (short, level)
    assert code.padded == short.ljust(12, "0")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", DivisionCodeErrorCode.FORMAT),
        ("4103", DivisionCodeErrorCode.FORMAT),
        ("41030", DivisionCodeErrorCode.FORMAT),
        ("4103020", DivisionCodeErrorCode.FORMAT),
        ("41030200100", DivisionCodeErrorCode.FORMAT),
        ("4103020010010", DivisionCodeErrorCode.FORMAT),
        ("41030A", DivisionCodeErrorCode.FORMAT),
        ("410302-001", DivisionCodeErrorCode.FORMAT),
        (None, DivisionCodeErrorCode.FORMAT),
        ("000000", DivisionCodeErrorCode.PROVINCE),
        ("990000", DivisionCodeErrorCode.PROVINCE),
        ("999999001001", DivisionCodeErrorCode.PROVINCE),
        ("830000", DivisionCodeErrorCode.PROVINCE),
        ("410012", DivisionCodeErrorCode.MISSING_LEVEL),  # a county without a prefecture
        ("410000001", DivisionCodeErrorCode.MISSING_LEVEL),  # a street directly under a province
        ("410300001", DivisionCodeErrorCode.MISSING_LEVEL),  # a street directly under a city
        ("410300001001", DivisionCodeErrorCode.MISSING_LEVEL),
        ("410302000001", DivisionCodeErrorCode.MISSING_LEVEL),  # a community without a street
    ],
)
def test_malformed_codes_are_rejected_with_a_reason(raw: object, error: DivisionCodeErrorCode) -> None:
    with pytest.raises(DivisionCodeError) as caught:
        parse_division_code(raw)
    assert caught.value.code is error
    assert caught.value.message
    if raw:
        assert repr(str(raw)) in str(caught.value)  # the offending value is named


def test_path_helpers() -> None:
    assert [path_level(p) for p in ("41", "4103", "410302", "410302001", "410302001001")] == [
        "province",
        "city",
        "county",
        "street",
        "community",
    ]
    assert code_from_path("41") == "410000"
    assert code_from_path("4103") == "410300"
    assert code_from_path("410302001") == "410302001"
    with pytest.raises(DivisionCodeError):
        path_level("41030")


nonzero2 = st.integers(min_value=1, max_value=99).map(lambda n: f"{n:02d}")
nonzero3 = st.integers(min_value=1, max_value=999).map(lambda n: f"{n:03d}")
communities = st.builds(
    lambda *parts: "".join(parts), st.sampled_from(sorted(PROVINCES)), nonzero2, nonzero2, nonzero3, nonzero3
)


@given(communities)
def test_the_chain_of_parents_walks_up_to_the_province_and_paths_nest(code: str) -> None:
    levels = []
    current: DivisionCode | None = parse_division_code(code)
    previous_path = None
    while current is not None:
        levels.append(current.level)
        if previous_path is not None:
            assert previous_path.startswith(current.path)  # a child's path extends its parent's
            assert len(previous_path) > len(current.path)
        assert parse_division_code(current.padded) == current  # padding round-trips
        assert code_from_path(current.path) == current.code
        previous_path = current.path
        current = parse_division_code(current.parent_code) if current.parent_code else None
        if current is not None:
            assert current.path == parse_division_code(code_from_path(current.path)).path
    assert levels == ["community", "street", "county", "city", "province"]


@given(communities)
def test_village_flag_follows_the_last_three_digits(code: str) -> None:
    assert parse_division_code(code).is_village == (200 <= int(code[9:]) <= 399)
