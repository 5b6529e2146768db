"""Checking every row before anything is written: each failure is collected with the row number the user
sees in the file, the field and the reason; valid rows come out normalised and routed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar, cast

from django.utils.translation import gettext as _

from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.people.models import DocumentKind
from fangkong.screening.imports import normalise
from fangkong.screening.imports.fields import FIELD_NAMES
from fangkong.screening.imports.normalise import CellError
from fangkong.screening.imports.reading import Table
from fangkong.screening.imports.routing import Router

PROGRESS_EVERY = 20_000


@dataclass(slots=True)
class ValidRow:
    row: int
    name: str
    document_kind: str  # '' without a document
    document_number: str
    phone: str
    origin_code: str
    origin_name: str
    arrived_at: datetime | None
    address: str
    source_reference: str
    community: str  # the routed community's path, or ''
    queue: str  # where the entry goes when there is no community: a county (or the city) path

    @property
    def identity_key(self) -> tuple[str, str, str]:
        if self.document_number:
            return ("document", self.document_kind, self.document_number)
        return ("phone", self.name, self.phone)

    def masked(self) -> dict[str, Any]:
        """What the row said, as the ledger keeps it."""
        return {
            "row": self.row,
            "name": self.name,
            "document_kind": self.document_kind,
            "document": mask_id_number(self.document_number),
            "phone": mask_phone(self.phone),
            "origin": self.origin_name or self.origin_code,
            "arrived_at": self.arrived_at.isoformat() if self.arrived_at else "",
            "address": self.address,
            "source_reference": self.source_reference,
        }


def masked_value(field: str, value: Any) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        text = str(int(value))
    if field == "id_number":
        return mask_id_number(text)
    if field == "phone":
        return mask_phone(text)
    return text[:100]


def _blank(row: list[Any]) -> str:
    return ""  # an unmapped field reads as empty


MEMO_LIMIT = 100_000
R = TypeVar("R")


def _memo(function: Callable[[Any], R]) -> Callable[[Any], R]:
    """`function` remembered per raw value (and its type: 1, 1.0 and True are different cells) — for columns
    with few distinct values (document type, origin, arrival date, community code), whose normalisation
    would otherwise run a million times. A failure is remembered as its message and raised again."""
    cache: dict[tuple[type, Any], tuple[bool, Any]] = {}

    def call(value: Any) -> R:
        try:
            key = (type(value), value)
            known = cache.get(key)
        except TypeError:  # not hashable
            return function(value)
        if known is None:
            try:
                known = (True, function(value))
            except CellError as error:
                known = (False, error.message)
            if len(cache) < MEMO_LIMIT:
                cache[key] = known
        if known[0]:
            return cast(R, known[1])
        raise CellError(cast(str, known[1]))

    return call


def validate_rows(
    table: Table,
    mapping: dict[str, str],
    *,
    router: Router,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[ValidRow], list[dict[str, Any]]]:
    """All rows, all errors: ([valid rows], [{row, field, message, value}]) — the value masked."""
    column = {field: table.headers.index(header) for field, header in mapping.items() if header}
    get: dict[str, Callable[[list[Any]], Any]] = {field: itemgetter(index) for field, index in column.items()}
    cell = {field: get.get(field, _blank) for field in FIELD_NAMES}
    valid: list[ValidRow] = []
    errors: list[dict[str, Any]] = []
    total = len(table.rows)
    no_identity = _("Give at least an ID number or a mobile number.")
    document_kind = _memo(normalise.document_kind)
    origin = _memo(normalise.origin)
    arrival = _memo(lambda value: normalise.arrival(value, now=now))
    community_code = _memo(normalise.community_code)

    for index, (number, row) in enumerate(zip(table.row_numbers, table.rows, strict=True)):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, total)
        failed = False

        def fail(field: str, message: Any, value: Any, number: int = number) -> None:
            nonlocal failed
            failed = True
            errors.append({"row": number, "field": field, "message": str(message), "value": masked_value(field, value)})

        try:
            name = normalise.name(cell["name"](row))
        except CellError as error:
            fail("name", error.message, cell["name"](row))
            name = ""
        kind: str = DocumentKind.RESIDENT_ID
        try:
            kind = document_kind(cell["document_kind"](row))
        except CellError as error:
            fail("document_kind", error.message, cell["document_kind"](row))
        raw_number = cell["id_number"](row)
        document = ""
        region = ""
        if not normalise.is_blank(raw_number):
            try:
                document = normalise.document_number(raw_number, kind)
                if kind == DocumentKind.RESIDENT_ID:
                    region = document[:6]
            except CellError as error:
                fail("id_number", error.message, raw_number)
        raw_phone = cell["phone"](row)
        phone = ""
        if not normalise.is_blank(raw_phone):
            try:
                phone = normalise.mobile(raw_phone)
            except CellError as error:
                fail("phone", error.message, raw_phone)
        elif normalise.is_blank(raw_number):
            fail("id_number", no_identity, "")
        origin_code, origin_name = origin(cell["origin"](row))
        try:
            arrived_at = arrival(cell["arrived_at"](row))
        except CellError as error:
            fail("arrived_at", error.message, cell["arrived_at"](row))
            arrived_at = None
        address = normalise.address(cell["address"](row))
        community = ""
        try:
            community = community_code(cell["community"](row))
            if community and not router.knows_community(community):
                fail("community", _("No community with code %(code)s in this city.") % {"code": community}, community)
        except CellError as error:
            fail("community", error.message, cell["community"](row))
        if failed:
            continue
        county = router.county_of_id(region)
        if not community:
            community = router.community_in(address, county=county)
        valid.append(
            ValidRow(
                row=number,
                name=name,
                document_kind=kind if document else "",
                document_number=document,
                phone=phone,
                origin_code=origin_code,
                origin_name=origin_name,
                arrived_at=arrived_at,
                address=address,
                source_reference=normalise.reference(cell["source_reference"](row)),
                community=community,
                queue="" if community else router.unlocated_queue(county or router.county_named_in(address)),
            )
        )
    if progress is not None:
        progress(total, total)
    return valid, errors
