"""Checking every row before anything is written: each failure is collected with the row number the user
sees in the file, the field and the reason; valid rows come out normalised, routed, and prepared for the
writer (the person to resolve, with pinyin; what the row said, masked, as JSON), so that the write phase
only moves data.

The check of one row does not depend on any other, so a big file is checked in several processes at once:
the file is read once, the other processes are forked with it in memory (nothing is sent to them) and each
checks a range of rows and sends back its valid rows and errors, which are joined in file order — the
result is the same as one process checking every row (a test checks this). Where fork is not available, or
a child fails, the rows are checked in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from django.utils.translation import gettext as _

from fangkong.core import bulk
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.people.models import DocumentKind
from fangkong.people.pinyin import name_pinyin
from fangkong.people.services import BulkPerson, birth_date_and_sex
from fangkong.screening.imports import normalise
from fangkong.screening.imports.fields import FIELD_NAMES
from fangkong.screening.imports.normalise import CellError
from fangkong.screening.imports.reading import Table
from fangkong.screening.imports.routing import Router

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 20_000
PARALLEL_FROM = 50_000  # rows; below this, forking costs more than it saves
MAX_PROCESSES = 4


class ValidRow(NamedTuple):
    """A checked row. A tuple, not a dataclass: a million of them cross a process boundary (pickled)."""

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
    person: BulkPerson  # who the row is, for the registry (home = the community, else the queue)
    masked_json: str  # `masked()` as the database stores JSON, computed once for the source and the report

    @property
    def identity_key(self) -> tuple[str, str, str]:
        return self.person.key

    def masked(self) -> dict[str, Any]:
        """What the row said, as the ledger keeps it."""
        return _masked(
            self.row,
            self.name,
            self.document_kind,
            self.document_number,
            self.phone,
            self.origin_name or self.origin_code,
            self.arrived_at,
            self.address,
            self.source_reference,
        )


def _masked(
    row: int,
    name: str,
    document_kind: str,
    document_number: str,
    phone: str,
    origin: str,
    arrived_at: datetime | None,
    address: str,
    source_reference: str,
) -> dict[str, Any]:
    return {
        "row": row,
        "name": name,
        "document_kind": document_kind,
        "document": mask_id_number(document_number),
        "phone": mask_phone(phone),
        "origin": origin,
        "arrived_at": arrived_at.isoformat() if arrived_at else "",
        "address": address,
        "source_reference": source_reference,
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


def processes_for(rows: int) -> int:
    """How many processes check `rows` rows: one for a small file or where fork is unavailable."""
    if rows < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(MAX_PROCESSES, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


Checked = tuple[list[ValidRow], list[dict[str, Any]]]


def validate_rows(
    table: Table,
    mapping: dict[str, str],
    *,
    router: Router,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> Checked:
    """All rows, all errors: ([valid rows], [{row, field, message, value}]) — the value masked. Big files
    are checked in `processes` processes (default: `processes_for`), with the same result."""
    total = len(table.rows)
    count = processes_for(total) if processes is None else max(1, min(processes, total))
    if count == 1:
        return _check_range(table, mapping, router=router, now=now, start=0, stop=total, progress=progress)
    bounds = [total * part // count for part in range(count + 1)]
    context = multiprocessing.get_context("fork")
    children = []
    for part in range(1, count):
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_check_in_child,
            args=(sender, table, mapping, router, now, bounds[part], bounds[part + 1]),
            daemon=True,
        )
        child.start()  # forked: the child has the table in memory already; only its result is sent back
        sender.close()
        children.append((child, receiver, part))

    def own_progress(done: int, _all: int) -> None:
        if progress is not None:
            progress(min(done * count, total), total)

    valid, errors = _check_range(table, mapping, router=router, now=now, start=0, stop=bounds[1], progress=own_progress)
    for child, receiver, part in children:
        result: Checked | None = None
        try:
            result = receiver.recv()
        except (EOFError, OSError):
            result = None
        finally:
            receiver.close()
            child.join()
        if result is None:  # the child died (killed, out of memory): check its rows here
            logger.warning("list check: process for rows %d-%d failed; checking them here", *bounds[part : part + 2])
            result = _check_range(table, mapping, router=router, now=now, start=bounds[part], stop=bounds[part + 1])
        valid.extend(result[0])
        errors.extend(result[1])
    if progress is not None:
        progress(total, total)
    return valid, errors


def _check_in_child(
    sender: Any, table: Table, mapping: dict[str, str], router: Router, now: datetime, start: int, stop: int
) -> None:
    """A forked process: check rows start..stop and send the result. It never touches the database (the
    parent's connection is inherited but not used, and the process ends with os._exit, closing nothing)."""
    try:
        sender.send(_check_range(table, mapping, router=router, now=now, start=start, stop=stop))
    finally:
        sender.close()


def _check_range(
    table: Table,
    mapping: dict[str, str],
    *,
    router: Router,
    now: datetime,
    start: int,
    stop: int,
    progress: Callable[[int, int], None] | None = None,
) -> Checked:
    column = {field: table.headers.index(header) for field, header in mapping.items() if header}
    get: dict[str, Callable[[list[Any]], Any]] = {field: itemgetter(index) for field, index in column.items()}
    cell = {field: get.get(field, _blank) for field in FIELD_NAMES}
    valid: list[ValidRow] = []
    errors: list[dict[str, Any]] = []
    total = stop - start
    no_identity = _("Give at least an ID number or a mobile number.")
    document_kind = _memo(normalise.document_kind)
    origin = _memo(normalise.origin)
    arrival = _memo(lambda value: normalise.arrival(value, now=now))
    community_code = _memo(normalise.community_code)
    stored_json = bulk.db_json

    for index, (number, row) in enumerate(zip(table.row_numbers[start:stop], table.rows[start:stop], strict=True)):
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
        queue = "" if community else router.unlocated_queue(county or router.county_named_in(address))
        reference = normalise.reference(cell["source_reference"](row))
        kept_kind = kind if document else ""
        born, sex = birth_date_and_sex(kept_kind, document)
        valid.append(
            ValidRow(
                number,
                name,
                kept_kind,
                document,
                phone,
                origin_code,
                origin_name,
                arrived_at,
                address,
                reference,
                community,
                queue,
                BulkPerson(
                    ("document", kept_kind, document) if document else ("phone", name, phone),
                    name,
                    kept_kind,
                    document,
                    phone,
                    address,
                    community or queue,
                    name_pinyin(name),
                    born,
                    sex,
                ),
                stored_json(
                    _masked(
                        number,
                        name,
                        kept_kind,
                        document,
                        phone,
                        origin_name or origin_code,
                        arrived_at,
                        address,
                        reference,
                    )
                ),
            )
        )
    if progress is not None:
        progress(total, total)
    return valid, errors
