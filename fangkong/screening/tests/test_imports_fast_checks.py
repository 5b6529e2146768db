"""The fast paths of the row checks agree with the full checks they short-cut."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.core.identity import IdentityError, make_resident_id, validate_resident_id
from fangkong.core.text import _RUNS_OF_SPACE, _WIDTH_TABLE, normalize_text, to_half_width
from fangkong.screening.imports.normalise import _plain_resident_id
from fangkong.screening.imports.routing import Place, Router

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


_SPECIAL = "".join(chr(code) for code in _WIDTH_TABLE) + "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85 "


@settings(max_examples=1000)
@given(st.text(alphabet=st.one_of(st.sampled_from(_SPECIAL + "张三丰路号①。，（"), st.characters()), max_size=12))
def test_normalize_text_fast_path_agrees_on_any_text(value):
    """Names and addresses in Chinese take the fast path too: it must agree with the full normalisation on any
    text, including every character the width table folds and every kind of whitespace."""
    assert normalize_text(value) == _RUNS_OF_SPACE.sub(" ", to_half_width(value)).strip()


def _check_all(table: Any, mapping: dict[str, str], **options: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Every chunk of a `RowChecker` (this process checking too: nothing is written here), joined."""
    from fangkong.screening.imports import validation

    checker = validation.RowChecker(table, mapping, **options)
    checker.help_checking()
    chunks = list(checker)
    errors = [error for chunk in chunks for error in chunk.errors]
    return validation.ValidColumns.joined([chunk.valid for chunk in chunks]).rows(), errors


def test_checking_in_several_processes_gives_what_one_process_gives(tmp_path, tree):
    """The file is checked in forked processes (each a range of rows) and the results joined in file order:
    the same valid rows (with their prepared person and JSON) and the same errors as one process."""
    from fangkong.screening.imports import validation
    from fangkong.screening.imports.fields import suggest_mapping
    from fangkong.screening.imports.reading import read_list
    from fangkong.screening.imports.selectors import router_for
    from fangkong.screening.tests.test_imports import HEADERS, MESSY_ROWS, gbk_csv
    from fangkong.screening.tests.test_imports_fast_writer import NOW, ROWS

    broken = [["90", "", "12345", "12", "", "2021-13-45", ""], ["91", "钱七", "", "", "上海", "明天", ""]]
    table = read_list(gbk_csv(tmp_path, [*ROWS, *broken, *MESSY_ROWS, *ROWS]))
    mapping = suggest_mapping(HEADERS)
    router = router_for(tree["city"].path)
    one = _check_all(table, mapping, router=router, now=NOW, processes=1)
    assert one[1] and len(one[0]) == 2 * len(ROWS) + len(MESSY_ROWS)
    for processes in (2, 3):
        assert _check_all(table, mapping, router=router, now=NOW, processes=processes) == one
        for chunk_rows in (1, 5):
            chunked = _check_all(table, mapping, router=router, now=NOW, processes=processes, chunk_rows=chunk_rows)
            assert chunked == one
    assert [row.masked_json for row in one[0]] == [validation.bulk.db_json(row.masked()) for row in one[0]]


def test_a_checking_process_that_dies_loses_nothing(tmp_path, tree):
    """A forked checker killed in the middle of a chunk (out of memory, say): the importing process checks
    that chunk itself, and the chunks come out complete and in file order, as one process gives them."""
    import os

    from fangkong.screening.imports import validation
    from fangkong.screening.imports.fields import suggest_mapping
    from fangkong.screening.imports.reading import read_list
    from fangkong.screening.imports.selectors import router_for
    from fangkong.screening.tests.test_imports import HEADERS, gbk_csv
    from fangkong.screening.tests.test_imports_fast_writer import NOW, ROWS

    parent = os.getpid()

    class DyingChecker(validation.RowChecker):
        def check(self, index: int) -> validation.CheckedChunk:
            if os.getpid() != parent and index in (1, 4):
                os._exit(9)  # as a kill would: no result, no clean-up
            return super().check(index)

    table = read_list(gbk_csv(tmp_path, ROWS * 3))
    mapping = suggest_mapping(HEADERS)
    router = router_for(tree["city"].path)
    one = _check_all(table, mapping, router=router, now=NOW, processes=1)
    for processes in (2, 3):
        checker = DyingChecker(table, mapping, router=router, now=NOW, processes=processes, chunk_rows=4)
        chunks = list(checker)
        assert [(chunk.start, chunk.stop) for chunk in chunks] == [
            (n, min(n + 4, len(ROWS) * 3)) for n in range(0, len(ROWS) * 3, 4)
        ]
        assert validation.ValidColumns.joined([chunk.valid for chunk in chunks]).rows() == one[0]


def _community_in_reference(router: Router, address: str, county: str) -> str:
    """`Router.community_in` as it was before the county named in the address was looked for lazily."""
    found: list[str] = []
    for end in range(1, len(address) + 1):
        for length in router._lengths:
            if length <= end and address[end - length : end] in router._by_name:
                found.append(address[end - length : end])
                break
    if not found:
        return ""
    named_county = router.county_named_in(address)
    for name in sorted(found, key=len, reverse=True):
        paths = router._by_name[name]
        for prefix in (county, named_county):
            if prefix:
                inside = [p for p in paths if p.startswith(prefix)]
                if len(inside) == 1:
                    return inside[0]
        if len(paths) == 1:
            return paths[0]
    return ""


_ROUTER = Router(
    city_path="4103",
    communities=[
        Place("410302001001", "东社区"),
        Place("410303001001", "东社区"),
        Place("410304001001", "东社区"),
        Place("410302001002", "西关东社区"),
        Place("410303001002", "南村"),
    ],
    counties=[Place("410302", "老城区"), Place("410303", "西工区"), Place("410304", "瀍河区")],
    home_path="4103",
)


@settings(max_examples=1000)
@given(
    st.lists(
        st.sampled_from(["东社区", "西关东社区", "南村", "老城区", "西工区", "瀍河区", "路", "3号", "关"]), max_size=5
    ),
    st.sampled_from(["", "410302", "410303", "410304", "410399"]),
)
def test_routing_looks_for_a_county_name_only_when_needed_and_agrees(parts, county):
    address = "".join(parts)
    assert _ROUTER.community_in(address, county=county) == _community_in_reference(_ROUTER, address, county)
