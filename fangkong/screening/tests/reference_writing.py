"""The list import's writer as it was before `core.bulk` (Django `bulk_create` of model instances, commit
f09ce40), kept only as the reference that the fast writer must match row for row
(test_imports_fast_writer.py). Not used by the application."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pypinyin import lazy_pinyin

from fangkong.core.models import User
from fangkong.people.models import Person, PersonDocument, PersonSource
from fangkong.people.services import (
    BulkPerson,
    BulkResolution,
    IdentityKey,
    _batches,
    _survivors,
    birth_date_and_sex,
)
from fangkong.screening.imports.validation import ValidColumns, ValidRow
from fangkong.screening.models import OPEN_STATES, ListImport, LoopState, PoolEntry, PoolEvent, RiskReport
from fangkong.screening.services import EntryTerms, entry_terms


def bulk_resolve_people(people: list[BulkPerson], *, insert_batch: int = 2000) -> BulkResolution:
    """Find each person in the registry or create them (with their document). Call inside a transaction."""
    keys = {p.key for p in people}
    owners: dict[IdentityKey, int] = {}
    for kind in {k[1] for k in keys if k[0] == "document"}:
        numbers = sorted(k[2] for k in keys if k[0] == "document" and k[1] == kind)
        for batch in _batches(numbers):
            for number, person_id in PersonDocument.objects.filter(kind=kind, number__in=batch).values_list(
                "number", "person_id"
            ):
                owners[("document", kind, number)] = person_id
    wanted = {(k[1], k[2]) for k in keys if k[0] == "phone"}
    for batch in _batches(sorted({phone for _name, phone in wanted})):
        for name, phone, person_id in (
            Person.objects.filter(phone__in=batch, merged_into__isnull=True)
            .order_by("pk")
            .values_list("name", "phone", "pk")
        ):
            if (name, phone) in wanted:
                owners.setdefault(("phone", name, phone), person_id)
    survivors = _survivors(set(owners.values()))
    person_of = {key: survivors.get(pid, pid) for key, pid in owners.items()}
    home_of: dict[int, str] = {}
    for batch in _batches(sorted(set(person_of.values()))):
        home_of.update(
            (pk, str(home)) for pk, home in Person.objects.filter(pk__in=batch).values_list("pk", "home_division_id")
        )

    pinyin: dict[str, str] = {}
    fresh: dict[IdentityKey, BulkPerson] = {}
    for person in people:
        if person.key not in person_of:
            fresh.setdefault(person.key, person)
    created = 0
    for batch in _batches(list(fresh.values())):
        rows = []
        for item in batch:
            if item.name not in pinyin:
                pinyin[item.name] = " ".join(lazy_pinyin(item.name))
            born, sex = birth_date_and_sex(item.document_kind, item.document_number)
            rows.append(
                Person(
                    name=item.name,
                    pinyin=pinyin[item.name],
                    sex=sex,
                    birth_date=born,
                    phone=item.phone,
                    phone_tail=item.phone[-4:],
                    primary_document_kind=item.document_kind,
                    primary_document_number=item.document_number,
                    home_division_id=item.home_division,
                    address=item.address,
                )
            )
        Person.objects.bulk_create(rows, batch_size=insert_batch)
        documents = []
        for item, row in zip(batch, rows, strict=True):
            assert row.pk is not None, "bulk_create must return ids (SQLite ≥ 3.35, PostgreSQL)"
            person_of[item.key] = row.pk
            home_of[row.pk] = item.home_division
            if item.document_number:
                documents.append(PersonDocument(person_id=row.pk, kind=item.document_kind, number=item.document_number))
        PersonDocument.objects.bulk_create(documents, batch_size=insert_batch)
        created += len(rows)
    return BulkResolution(person_of=person_of, home_of=home_of, created=created)


def bulk_add_sources(
    items: list[tuple[int, str, dict[str, Any]]], *, source: str, by: User | None, insert_batch: int = 2000
) -> int:
    """Provenance rows (person id, reference, masked data) for many people. Call inside a transaction."""
    actor = by if by is not None and by.pk else None
    for batch in _batches(items):
        PersonSource.objects.bulk_create(
            [
                PersonSource(person_id=person_id, source=source, reference=reference, recorded_by=actor, data=data)
                for person_id, reference, data in batch
            ],
            batch_size=insert_batch,
        )
    return len(items)


BATCH = 5_000
INSERT_BATCH = 2_000
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _responsible(home: str, row: ValidRow) -> tuple[str, bool]:
    """As `screening.services.responsible_division`: the person's home community, else the community of the
    row's address, else the unlocated queue of the county (of the registry's home, the ID region or the
    importing jurisdiction), else the city's."""
    if len(home) == 12:
        return home, False
    if row.community:
        return row.community, False
    return (home[:6] if len(home) >= 6 else row.queue), True


def write_rows(
    rows: list[ValidRow],
    *,
    list_import: ListImport,
    reason: str,
    by: User | None,
    now: datetime,
    progress: Callable[[int, int], None],
) -> dict[str, int]:
    """Write `rows` (already valid) and return the counts. Call inside a transaction."""
    actor = by if by is not None and by.pk else None
    source = list_import.source
    prefix = f"{list_import.sha256[:16]}:"
    total = len(rows)
    steps = total * 4 or 1
    progress(0, steps)

    # 1. The registry: one identity per person in the file, resolved or created.
    resolution = bulk_resolve_people(
        [
            BulkPerson(
                key=row.identity_key,
                name=row.name,
                document_kind=row.document_kind,
                document_number=row.document_number,
                phone=row.phone,
                address=row.address,
                home_division=row.community or row.queue,
            )
            for row in rows
        ],
        insert_batch=INSERT_BATCH,
    )
    person_of, home_of = resolution.person_of, resolution.home_of
    progress(total, steps)
    bulk_add_sources(
        [(person_of[row.identity_key], f"{prefix}{row.row}", row.masked()) for row in rows],
        source=source,
        by=by,
        insert_batch=INSERT_BATCH,
    )
    progress(total * 2, steps)

    # 2. The pool: people already open keep their entry; the others get one new entry each.
    person_ids = sorted(set(person_of.values()))
    open_entry: dict[int, tuple[int, list[str]]] = {}
    for batch in _chunks(person_ids):
        for pk, person_id, reasons in PoolEntry.objects.filter(person_id__in=batch, state__in=OPEN_STATES).values_list(
            "pk", "person_id", "reasons"
        ):
            open_entry[person_id] = (pk, list(reasons))
    first_for_person: dict[int, ValidRow] = {}
    for row in rows:
        first_for_person.setdefault(person_of[row.identity_key], row)
    terms: dict[str, EntryTerms] = {}
    entry_of: dict[int, int] = {pid: pk for pid, (pk, _reasons) in open_entry.items()}
    unlocated = 0
    entries_created = 0
    for batch in _chunks([pid for pid in person_ids if pid not in open_entry]):
        entries = []
        for person_id in batch:
            division, is_unlocated = _responsible(home_of[person_id], first_for_person[person_id])
            term = terms.get(division)
            if term is None:
                term = terms[division] = entry_terms(division, now=now)
            unlocated += is_unlocated
            entries.append(
                PoolEntry(
                    person_id=person_id,
                    division_id=division,
                    is_unlocated=is_unlocated,
                    reasons=[reason],
                    state=LoopState.LISTED,
                    edition_id=term.edition_id,
                    listed_at=now,
                    locate_due=term.locate_due,
                    test_due=term.test_due,
                )
            )
        PoolEntry.objects.bulk_create(entries, batch_size=INSERT_BATCH)
        events = []
        for entry in entries:
            assert entry.pk is not None
            entry_of[entry.person_id] = entry.pk
            events.append(PoolEvent(entry_id=entry.pk, kind="listed", to_state=LoopState.LISTED, note=source, by=actor))
        PoolEvent.objects.bulk_create(events, batch_size=INSERT_BATCH)
        entries_created += len(entries)
    extended = [
        PoolEntry(pk=pk, reasons=[*reasons, reason]) for pk, reasons in open_entry.values() if reason not in reasons
    ]
    PoolEntry.objects.bulk_update(extended, ["reasons"], batch_size=INSERT_BATCH)
    progress(total * 3, steps)

    # 3. One report per row on the ledger.
    done = total * 3
    for row_batch in _chunks(rows):
        RiskReport.objects.bulk_create(
            [
                RiskReport(
                    entry_id=entry_of[person_of[row.identity_key]],
                    source=source,
                    reference=f"{prefix}{row.row}",
                    reason=reason,
                    origin_code=row.origin_code,
                    origin_name=row.origin_name,
                    arrived_at=row.arrived_at,
                    data=_report_data(row, list_import),
                )
                for row in row_batch
            ],
            batch_size=INSERT_BATCH,
        )
        done += len(row_batch)
        progress(done, steps)
    return {
        "people_created": resolution.created,
        "entries_created": entries_created,
        "reports_added": total,
        "unlocated": unlocated,
    }


class ReferenceListWriter:
    """`writing.ListWriter`'s interface over the reference: the chunks are collected and written at the end."""

    def __init__(self, *, list_import: ListImport, reason: str, by: User | None, now: datetime, rows: int) -> None:
        self._import, self._reason, self._by, self._now = list_import, reason, by, now
        self._rows: list[ValidRow] = []

    def __enter__(self) -> ReferenceListWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add(self, rows: ValidColumns) -> None:
        self._rows.extend(rows.rows())

    def finish(self) -> dict[str, int]:
        return write_rows(
            self._rows,
            list_import=self._import,
            reason=self._reason,
            by=self._by,
            now=self._now,
            progress=lambda done, total: None,
        )


def _report_data(row: ValidRow, list_import: ListImport) -> dict[str, Any]:
    data = row.masked()
    data["import"] = list_import.pk
    return data
