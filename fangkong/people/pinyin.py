"""Pinyin for names, fast enough for a million-row list.

`pypinyin.lazy_pinyin` segments text by its phrase dictionary and costs ~50 µs a name. A name in which no
run of two or more characters is a dictionary phrase gets each character's first reading — exactly what
`lazy_pinyin` returns for it — so those names (≈99 % of Chinese names) are joined from a per-character cache;
the rest, and any name with a character outside the single-character dictionary, go through `lazy_pinyin`.
A property test checks the shortcut against `lazy_pinyin`.
"""

from __future__ import annotations

from pypinyin import lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

_CHARACTER: dict[str, str] = {}


def _has_phrase(name: str) -> bool:
    length = len(name)
    if length == 2:
        return name in PHRASES_DICT
    if length == 3:
        return name[:2] in PHRASES_DICT or name[1:] in PHRASES_DICT or name in PHRASES_DICT
    return any(name[start:end] in PHRASES_DICT for start in range(length - 1) for end in range(start + 2, length + 1))


def name_pinyin(name: str) -> str:
    """The same text as `" ".join(lazy_pinyin(name))`."""
    parts = []
    for character in name:
        reading = _CHARACTER.get(character)
        if reading is None:
            if ord(character) not in PINYIN_DICT:
                return " ".join(lazy_pinyin(name))
            reading = _CHARACTER[character] = lazy_pinyin(character)[0]
        parts.append(reading)
    if len(parts) > 1 and _has_phrase(name):
        return " ".join(lazy_pinyin(name))
    return " ".join(parts)
