"""Checking every row before anything is written: each failure is collected with the row number the user
sees in the file, the field and the reason; valid rows come out normalised, routed, and prepared for the
writer (the person to resolve, with pinyin; what the row said, masked, as JSON), so that the write phase
only moves data.

The check of one row does not depend on any other, so a big file is checked in chunks, in other processes
while the importing process writes (`RowChecker`): the file is read once, the checkers are forked with it in
memory (nothing is sent to them), each takes the next unchecked chunk and sends back its valid rows (as
columns) and errors, and the chunks are handed out in file order — the result is the same as one process
checking every row (a test checks this). Where fork is not available, or a checker dies, the rows are
checked in the importing process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Callable, Generator
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from django.utils.translation import gettext as _

from fangkong.core import bulk
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.people.models import DocumentKind
from fangkong.people.pinyin import name_pinyin
from fangkong.people.services import BulkPerson, IdentityKey, birth_date_and_sex
from fangkong.screening.imports import normalise
from fangkong.screening.imports.fields import FIELD_NAMES
from fangkong.screening.imports.normalise import CellError
from fangkong.screening.imports.reading import Table
from fangkong.screening.imports.routing import Router

logger = logging.getLogger(__name__)

PARALLEL_FROM = 50_000  # rows; below this, forking costs more than it saves
CHUNK_ROWS = 20_000  # rows checked (and written) at a time: small enough that the writer starts early
MAX_PROCESSES = 4


class ValidRow(NamedTuple):
    """A checked row, flat: normalised, routed, and prepared for the writer (the person's pinyin, birth date and
    sex; what the row said, masked, as JSON). The check produces them; between processes and to the writer
    they travel as `ValidColumns` (one list per field), which a process pickles and unpickles about twice as
    fast as these tuples (bench/screening_import_parts.py)."""

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
    pinyin: str
    birth_date: date | None
    sex: str
    masked_json: str  # `masked()` as the database stores JSON, computed once for the source and the report

    @property
    def identity_key(self) -> IdentityKey:
        return identity_key(self.document_kind, self.document_number, self.name, self.phone)

    @property
    def person(self) -> BulkPerson:
        """Who the row is, for the registry (home = the community, else the queue)."""
        return BulkPerson(
            self.identity_key,
            self.name,
            self.document_kind,
            self.document_number,
            self.phone,
            self.address,
            self.community or self.queue,
            self.pinyin,
            self.birth_date,
            self.sex,
        )

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


class ValidColumns(NamedTuple):
    """Checked rows as one list per `ValidRow` field, in file order."""

    row: list[int]
    name: list[str]
    document_kind: list[str]
    document_number: list[str]
    phone: list[str]
    origin_code: list[str]
    origin_name: list[str]
    arrived_at: list[datetime | None]
    address: list[str]
    source_reference: list[str]
    community: list[str]
    queue: list[str]
    pinyin: list[str]
    birth_date: list[date | None]
    sex: list[str]
    masked_json: list[str]

    @classmethod
    def of(cls, rows: list[ValidRow]) -> ValidColumns:
        if not rows:
            return cls(*([] for _ in cls._fields))
        return cls(*map(list, zip(*rows, strict=True)))

    @classmethod
    def joined(cls, parts: list[ValidColumns]) -> ValidColumns:
        joined = cls.of([])
        for part in parts:
            for into, values in zip(joined, part, strict=True):
                cast(list[Any], into).extend(cast(list[Any], values))
        return joined

    @property
    def size(self) -> int:
        """The number of rows (`len()` of a tuple counts its fields)."""
        return len(self.row)

    def rows(self) -> list[ValidRow]:
        return [ValidRow(*values) for values in zip(*self, strict=True)]

    def homes(self) -> list[str]:
        """Each row's home for the registry: the routed community, else the unlocated queue."""
        return [community or queue for community, queue in zip(self.community, self.queue, strict=True)]

    def identity_keys(self) -> list[IdentityKey]:
        return list(map(identity_key, self.document_kind, self.document_number, self.name, self.phone))


def identity_key(kind: str, number: str, name: str, phone: str) -> IdentityKey:
    """Same document → same person; without one, same name and mobile."""
    return ("document", kind, number) if number else ("phone", name, phone)


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


class CheckedChunk(NamedTuple):
    """The check of one chunk of consecutive rows: its valid rows and its errors ({row, field, message, value})."""

    start: int  # index of the chunk's first data row
    stop: int
    valid: ValidColumns
    errors: list[dict[str, Any]]


class RowChecker:
    """Checks a table's rows chunk by chunk and hands the chunks out in file order, as they are ready, so that a
    caller can write chunk 1 while chunk 2 is being checked.

    With `processes` > 1 the importing process forks `processes - 1` checkers (the file is already in memory in
    each; nothing is sent to them), which take the next unchecked chunk from a shared counter and send back its
    result; the importing process writes. A caller that stops writing (a row failed) calls `help_checking()`,
    and the importing process then checks unclaimed chunks too. A checker that dies (killed, out of memory)
    loses at most the chunk it was on, which is then checked here; the result is the same as one process
    checking every row (tested)."""

    def __init__(
        self,
        table: Table,
        mapping: dict[str, str],
        *,
        router: Router,
        now: datetime,
        processes: int | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        self._table, self._mapping, self._router, self._now = table, mapping, router, now
        total = len(table.rows)
        self.total = total
        step = max(1, chunk_rows or CHUNK_ROWS)
        self._bounds = [*range(0, total, step), total] if total else [0, 0]
        self._count = processes_for(total) if processes is None else max(1, processes)
        self._helping = False

    @property
    def chunks(self) -> int:
        return len(self._bounds) - 1

    def help_checking(self) -> None:
        """From now on the importing process checks chunks too (the caller is no longer writing)."""
        self._helping = True

    def check(self, index: int) -> CheckedChunk:
        """Chunk `index`, checked in this process."""
        start, stop = self._bounds[index], self._bounds[index + 1]
        valid, errors = _check_range(
            self._table, self._mapping, router=self._router, now=self._now, start=start, stop=stop
        )
        return CheckedChunk(start, stop, ValidColumns.of(valid), errors)

    def __iter__(self) -> Generator[CheckedChunk, None, None]:
        workers = min(self._count, self.chunks) - 1
        if workers <= 0:
            for index in range(self.chunks):
                yield self.check(index)
            return
        context = multiprocessing.get_context("fork")
        claimed = context.Value("q", 0)  # the next chunk nobody has taken
        working = context.Array("q", [-1] * workers)  # the chunk each checker is on
        children: dict[Any, tuple[Any, int]] = {}
        for slot in range(workers):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=self._serve, args=(sender, claimed, working, slot), daemon=True)
            child.start()  # forked: the child has the table in memory already; only results are sent back
            sender.close()
            children[receiver] = (child, slot)
        ready: dict[int, CheckedChunk] = {}
        lost: set[int] = set()
        try:
            for index in range(self.chunks):
                while index not in ready:
                    if index in lost or not children:  # nobody else will check it
                        ready[index] = self.check(index)
                        break
                    if self._helping:
                        mine = _claim(claimed, self.chunks)
                        if mine is not None:
                            ready[mine] = self.check(mine)
                            continue
                    for readable in multiprocessing.connection.wait(list(children)):
                        self._receive(readable, children, working, ready, lost)
                yield ready.pop(index)
        finally:
            for receiver, (child, _slot) in children.items():
                child.terminate()  # the caller stopped early: the rest is not wanted
                child.join()
                receiver.close()

    @staticmethod
    def _receive(
        receiver: Any,
        children: dict[Any, tuple[Any, int]],
        working: Any,
        ready: dict[int, CheckedChunk],
        lost: set[int],
    ) -> None:
        try:
            chunk: tuple[int, CheckedChunk] = receiver.recv()
        except (EOFError, OSError):  # the checker ended: done, or died on the chunk it was on
            child, slot = children.pop(receiver)
            receiver.close()
            child.join()
            if working[slot] >= 0 and working[slot] not in ready:
                logger.warning("list check: a checking process ended on chunk %d; checking it here", working[slot])
                lost.add(working[slot])
            return
        ready[chunk[0]] = chunk[1]

    def _serve(self, sender: Any, claimed: Any, working: Any, slot: int) -> None:
        """A forked checker: take chunks until none is left, send each result. It never touches the database
        (the parent's connection is inherited but not used, and the process ends with os._exit, closing
        nothing)."""
        try:
            while (index := _claim(claimed, self.chunks)) is not None:
                working[slot] = index
                sender.send((index, self.check(index)))
            working[slot] = -1
        finally:
            sender.close()


def _claim(claimed: Any, chunks: int) -> int | None:
    with claimed.get_lock():
        index = int(claimed.value)
        if index >= chunks:
            return None
        claimed.value = index + 1
        return index


def _check_range(
    table: Table,
    mapping: dict[str, str],
    *,
    router: Router,
    now: datetime,
    start: int,
    stop: int,
) -> tuple[list[ValidRow], list[dict[str, Any]]]:
    column = {field: table.headers.index(header) for field, header in mapping.items() if header}
    get: dict[str, Callable[[list[Any]], Any]] = {field: itemgetter(index) for field, index in column.items()}
    cell = {field: get.get(field, _blank) for field in FIELD_NAMES}
    valid: list[ValidRow] = []
    errors: list[dict[str, Any]] = []
    no_identity = _("Give at least an ID number or a mobile number.")
    document_kind = _memo(normalise.document_kind)
    origin = _memo(normalise.origin)
    arrival = _memo(lambda value: normalise.arrival(value, now=now))
    community_code = _memo(normalise.community_code)
    stored_json = bulk.db_json

    for number, row in zip(table.row_numbers[start:stop], table.rows[start:stop], strict=True):
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
        origin_text = origin_name or origin_code
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
                name_pinyin(name),
                born,
                sex,
                stored_json(
                    _masked(number, name, kept_kind, document, phone, origin_text, arrived_at, address, reference)
                ),
            )
        )
    return valid, errors
