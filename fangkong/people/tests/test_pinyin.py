"""The name pinyin shortcut gives exactly what `pypinyin.lazy_pinyin` gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from fangkong.people.pinyin import name_pinyin

# Surnames and given-name characters with several readings (重, 长, 曾, 单, 行, 乐), phrase-forming pairs
# (重庆, 长孙, 单于), Latin letters, the middle dot of transliterated names, spaces and full-width letters.
ALPHABET = "张王李赵钱孙周吴重庆长曾单于行乐朝阳区·ABab ＡＢ阿卜杜热合曼欧阳诸葛解朴仇"


@settings(max_examples=500)
@given(st.text(alphabet=ALPHABET, max_size=6))
def test_name_pinyin_agrees_with_lazy_pinyin(name: str) -> None:
    assert name_pinyin(name) == " ".join(lazy_pinyin(name))


def test_common_names() -> None:
    for name in ["张三", "重庆", "曾国藩", "长孙无忌", "单于", "John Smith", "阿卜杜·热合曼", ""]:
        assert name_pinyin(name) == " ".join(lazy_pinyin(name))
