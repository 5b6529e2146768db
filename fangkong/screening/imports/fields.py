"""The fields a screening list can fill, and how a file's headers are matched to them.

A mapping is `{field: column header}`. It is suggested from header synonyms and from the layout remembered
for the source name (`ListLayout`), and confirmed by the user on the mapping page (or `--map` on the CLI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core.text import normalize_text


@dataclass(frozen=True)
class ListField:
    name: str
    label: str | Promise
    synonyms: tuple[str, ...]


FIELDS: tuple[ListField, ...] = (
    ListField("name", _("Name"), ("姓名", "名字", "人员姓名", "客户姓名", "旅客姓名", "name", "fullname")),
    ListField(
        "id_number",
        _("ID number"),
        (
            "身份证号",
            "身份证号码",
            "身份证",
            "证件号码",
            "证件号",
            "公民身份号码",
            "公民身份证号",
            "id_number",
            "idnumber",
            "idno",
            "idcard",
            "id",
        ),
    ),
    ListField("document_kind", _("Document type"), ("证件类型", "证件种类", "document_kind", "documenttype", "idtype")),
    ListField(
        "phone",
        _("Mobile"),
        ("手机号", "手机号码", "联系电话", "电话", "电话号码", "联系方式", "手机", "phone", "mobile", "msisdn", "tel"),
    ),
    ListField(
        "origin",
        _("Coming from"),
        (
            "来源地",
            "出发地",
            "途经地",
            "来自",
            "来源地区",
            "风险地区",
            "出发地区",
            "始发地",
            "origin",
            "origin_name",
            "origin_code",
            "from",
        ),
    ),
    ListField(
        "arrived_at",
        _("Arrival"),
        (
            "抵达时间",
            "到达日期",
            "入市时间",
            "到达时间",
            "抵达日期",
            "来洛时间",
            "返回时间",
            "入境时间",
            "arrival_time",
            "arrived_at",
            "arrival",
            "arrivaldate",
        ),
    ),
    ListField(
        "address",
        _("Address"),
        ("现住址", "居住地址", "地址", "现居住地址", "住址", "居住地", "详细地址", "address", "homeaddress"),
    ),
    ListField("community", _("Community code"), ("社区编码", "村社区代码", "社区代码", "community", "community_code")),
    ListField(
        "source_reference",
        _("Row id in the source"),
        ("编号", "序号", "记录编号", "流水号", "record_id", "reference", "recordid"),
    ),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
REQUIRED = ("name",)
ONE_OF = ("id_number", "phone")
_PUNCTUATION = re.compile(r"[\s_\-:：()（）\[\]【】*.、/]+")


def header_key(header: str) -> str:
    """'身份证号码（必填）' and 'ID_Number ' compare as the same header."""
    text = normalize_text(header).lower()
    text = re.sub(r"[（(][^）)]*[）)]", "", text)  # '(必填)', '(YYYY-MM-DD)'
    return _PUNCTUATION.sub("", text)


def _containable(key: str) -> bool:
    """Short Latin synonyms ('id', 'tel') match only whole headers; Chinese ones of two characters may be part
    of a longer header ('联系电话（手机）')."""
    return len(key) > 3 if key.isascii() else len(key) > 1


def suggest_mapping(
    headers: list[str], remembered: dict[str, str] | None = None, *, fields: tuple[ListField, ...] = FIELDS
) -> dict[str, str]:
    """A field → header mapping: the remembered layout where its headers are present, else synonyms (exact
    first, then a header containing a synonym). Each header serves one field at most. `fields` lets another
    kind of file (venue check-ins) use the same matching with its own fields."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    present = set(headers)
    names = {spec.name for spec in fields}
    for field, header in (remembered or {}).items():
        if field in names and header in present and header not in used:
            mapping[field] = header
            used.add(header)
    keys = {header: header_key(header) for header in headers}
    for exact in (True, False):
        for spec in fields:
            if spec.name in mapping:
                continue
            for synonym in spec.synonyms:
                wanted = header_key(synonym)
                match = next(
                    (
                        h
                        for h in headers
                        if h not in used
                        and (keys[h] == wanted if exact else _containable(wanted) and wanted in keys[h])
                    ),
                    None,
                )
                if match is not None:
                    mapping[spec.name] = match
                    used.add(match)
                    break
    return mapping


def missing_fields(mapping: dict[str, str]) -> list[str]:
    """What a mapping lacks: the name, and at least one of ID number and mobile."""
    missing = [f for f in REQUIRED if not mapping.get(f)]
    if not any(mapping.get(f) for f in ONE_OF):
        missing.append("id_number")
    return missing
