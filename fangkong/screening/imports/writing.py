"""The bulk write of a checked list, chunk by chunk as the chunks are checked, inside the caller's
transaction (`ListWriter`).

The registry side goes through `people.services` (BulkResolver: documents resolved in batches against
PersonDocument, following merges, phone-only rows by name and mobile, missing people created with their
documents, people met in an earlier chunk not looked up again; bulk_queue_possible_matches: new records with
the name and mobile of another record but no shared document go to the merge queue, as with
register_person; bulk_add_sources_from: one provenance row per list row, derived from its report). The
ledger side is written here, since screening owns it: people not yet in the pool get one entry each (the
constraint `pool_one_open_entry_per_person` holds: people already open only get the report and, where new,
the reason) with its 'listed' event, and every row a RiskReport (reference `<sha256[:16]>:<row>`). Deadlines
and edition come from `screening.services.entry_terms`, as for `list_person`. The tables are written with
`core.bulk` — ids allocated up front inside the transaction, plain tuples (100 rows per statement on SQLite,
`COPY` on PostgreSQL), no model instances — and the rows that follow from rows already written (a person's
document, an entry's first event, a report's provenance row) are derived by the database (`insert_select`)
without a Python step per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

from fangkong.core import bulk
from fangkong.core.models import User
from fangkong.people.models import Person, PersonDocument, PersonSource
from fangkong.people.services import BulkResolver, PeopleColumns, bulk_add_sources_from, bulk_queue_possible_matches
from fangkong.screening.imports.validation import ValidColumns
from fangkong.screening.models import OPEN_STATES, ListImport, LoopState, PoolEntry, PoolEvent, RiskReport
from fangkong.screening.services import entry_terms

BATCH = 5_000
INSERT_BATCH = 2_000
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _responsible(home: str, community: str, queue: str) -> tuple[str, bool]:
    """As `screening.services.responsible_division`: the person's home community, else the community of the
    row's address, else the unlocated queue of the county (of the registry's home, the ID region or the
    importing jurisdiction), else the city's."""
    if len(home) == 12:
        return home, False
    if community:
        return community, False
    return (home[:6] if len(home) >= 6 else queue), True


class ListWriter:
    """Writes a checked list chunk by chunk (`add`, in file order) and then what follows from all of it
    (`finish`), inside the caller's transaction and a `with` block. Per chunk: the registry (people resolved
    or created, with their documents), the pool (one new entry per person not already open, with its 'listed'
    event), and one report per row with its provenance row — the documents, events and provenance rows
    derived in the database from the rows just written, one statement each. At the end: the merge queue and
    the reasons of entries already open. On SQLite the tables written per chunk defer their indexes to the
    end (`core.bulk.indexes_deferred`), except the ones the next chunk looks people and entries up by."""

    def __init__(self, *, list_import: ListImport, reason: str, by: User | None, now: datetime, rows: int) -> None:
        self._import, self._reason, self._by, self._now = list_import, reason, by, now
        self._actor = by.pk if by is not None and by.pk else None
        self._prefix = f"{list_import.sha256[:16]}:"
        self._import_tail = f',"import":{list_import.pk}}}'
        self._resolver = BulkResolver()
        self._entry_of: dict[int, int] = {}  # person id → the entry this import's reports go to
        self._open_entry: dict[int, tuple[int, list[str]]] = {}  # people already open: entry id, reasons
        self._entry_ids: list[int] = []
        self._due: dict[str, tuple[str, Any, Any]] = {}
        self._arrived: dict[datetime | None, Any] = {}
        self._listed_at, self._reasons_json = bulk.db_datetime(now), bulk.db_json([reason])
        self._flag = {False: bulk.db_bool(False), True: bulk.db_bool(True)}
        self.rows = self.unlocated = 0
        self._rows_expected = rows
        self._deferred = ExitStack()

    def __enter__(self) -> ListWriter:
        for model, keep in (
            (Person, ("phone",)),
            (PersonDocument, ()),
            (PoolEntry, ("person_id",)),
            (PoolEvent, ()),
            (RiskReport, ()),
            (PersonSource, ()),
        ):
            self._deferred.enter_context(bulk.indexes_deferred(model, self._rows_expected, keep=keep))
        return self

    def __exit__(self, *exc: Any) -> None:
        """Builds the deferred indexes again (after `finish`), or — on an exception — leaves them to the
        transaction's rollback."""
        self._deferred.__exit__(*exc)

    def add(self, rows: ValidColumns) -> None:
        """Write one chunk of checked rows (the next in file order)."""
        if not rows.size:
            return
        people = PeopleColumns(
            rows.identity_keys(),
            rows.name,
            rows.document_kind,
            rows.document_number,
            rows.phone,
            rows.address,
            rows.homes(),
            rows.pinyin,
            rows.birth_date,
            rows.sex,
        )
        row_person = self._resolver.resolve(people)
        self._add_entries(rows, row_person)
        self._add_reports(rows, row_person)
        self.rows += rows.size

    def _add_entries(self, rows: ValidColumns, row_person: list[int]) -> None:
        """People met for the first time in this import: an open entry keeps them (the reason is added at
        the end); the others get one new entry each. People this import created cannot be open yet, so only
        the others are looked up."""
        entry_of = self._entry_of
        first_row: dict[int, int] = {}  # person id → index of their first row in this chunk
        for index, person in enumerate(row_person):
            if person not in entry_of and person not in first_row:
                first_row[person] = index
        if not first_row:
            return
        created = self._resolver.created_ids
        for batch in _chunks([pid for pid in sorted(first_row) if pid not in created]):
            for pk, person_id, reasons in PoolEntry.objects.filter(
                person_id__in=batch, state__in=OPEN_STATES
            ).values_list("pk", "person_id", "reasons"):
                self._open_entry[person_id] = (pk, list(reasons))
                entry_of[person_id] = pk
        newcomers = [pid for pid in sorted(first_row) if pid not in entry_of]
        entry_ids = bulk.allocate_ids(PoolEntry, len(newcomers))
        home_of, due, now, flag = self._resolver.home_of, self._due, self._now, self._flag
        entries = []
        for entry_id, person_id in zip(entry_ids, newcomers, strict=True):
            index = first_row[person_id]
            division, is_unlocated = _responsible(home_of[person_id], rows.community[index], rows.queue[index])
            if division not in due:
                term = entry_terms(division, now=now)
                due[division] = (term.edition_id, bulk.db_datetime(term.locate_due), bulk.db_datetime(term.test_due))
            edition_id, locate_due, test_due = due[division]
            self.unlocated += is_unlocated
            entry_of[person_id] = entry_id
            entries.append(
                (
                    entry_id,
                    person_id,
                    division,
                    flag[is_unlocated],
                    self._reasons_json,
                    LoopState.LISTED,
                    edition_id,
                    self._listed_at,
                    locate_due,
                    test_due,
                )
            )
        bulk.insert_rows(PoolEntry, ENTRY_COLUMNS, entries, now=now)
        self._entry_ids.extend(entry_ids)
        # Each new entry's 'listed' event, derived from the entries just written.
        quoted = connection.ops.quote_name
        new_entries, new_entry_params = bulk.id_block_condition(quoted("id"), entry_ids)
        bulk.insert_select(
            PoolEvent,
            ("entry_id",),
            f"SELECT {quoted('id')} FROM {quoted(PoolEntry._meta.db_table)} WHERE {new_entries}"  # noqa: S608
            f" ORDER BY {quoted('id')}",
            new_entry_params,
            constants={
                "kind": "listed",
                "to_state": LoopState.LISTED,
                "note": self._import.source,
                "by_id": self._actor,
            },
            now=now,
            expected=len(entry_ids),
        )

    def _add_reports(self, rows: ValidColumns, row_person: list[int]) -> None:
        """One report per row on the ledger: the row as the source saw it (masked), and the import."""
        arrived = self._arrived
        for value in rows.arrived_at:
            if value not in arrived:
                arrived[value] = bulk.db_datetime(value)
        report_ids = bulk.allocate_ids(RiskReport, rows.size)
        entry_of, source, prefix, reason, tail = (
            self._entry_of,
            self._import.source,
            self._prefix,
            self._reason,
            self._import_tail,
        )
        bulk.insert_rows(
            RiskReport,
            ("id", "entry_id", "source", "reference", "reason", "origin_code", "origin_name", "arrived_at", "data"),
            [
                (
                    report_id,
                    entry_of[person],
                    source,
                    f"{prefix}{number}",
                    reason,
                    origin_code,
                    origin_name,
                    arrived[arrived_at],
                    masked_json[:-1] + tail,  # == db_json({**row.masked(), "import": list_import.pk})
                )
                for report_id, person, number, origin_code, origin_name, arrived_at, masked_json in zip(
                    report_ids,
                    row_person,
                    rows.row,
                    rows.origin_code,
                    rows.origin_name,
                    rows.arrived_at,
                    rows.masked_json,
                    strict=True,
                )
            ],
            now=self._now,
        )
        # From each report the person's provenance row: the same masked row without the import.
        quoted = connection.ops.quote_name
        new_reports, report_params = bulk.id_block_condition(f"report.{quoted('id')}", report_ids)
        data_without_import = bulk.json_without_key(f"report.{quoted('data')}", "import")
        bulk_add_sources_from(
            f"SELECT entry.{quoted('person_id')}, report.{quoted('source')}, report.{quoted('reference')},"  # noqa: S608
            f" {data_without_import} FROM {quoted(RiskReport._meta.db_table)} AS report"
            f" JOIN {quoted(PoolEntry._meta.db_table)} AS entry ON entry.{quoted('id')} = report.{quoted('entry_id')}"
            f" WHERE {new_reports} ORDER BY report.{quoted('id')}",
            report_params,
            by=self._by,
            expected=len(report_ids),
        )

    def finish(self) -> dict[str, int]:
        """What follows from all the rows: the merge queue, and the reason added to entries already open.
        Returns the counts. Leaving the `with` block builds the deferred indexes."""
        resolution = self._resolver.finish()
        bulk_queue_possible_matches(  # same name and mobile, no shared document: a human decides
            resolution.created_ids, new_records=resolution.created_records
        )
        extended = [
            PoolEntry(pk=pk, reasons=[*reasons, self._reason])
            for pk, reasons in self._open_entry.values()
            if self._reason not in reasons
        ]
        PoolEntry.objects.bulk_update(extended, ["reasons"], batch_size=INSERT_BATCH)
        return {
            "people_created": resolution.created,
            "entries_created": len(self._entry_ids),
            "reports_added": self.rows,
            "unlocated": self.unlocated,
        }


ENTRY_COLUMNS = (
    "id",
    "person_id",
    "division_id",
    "is_unlocated",
    "reasons",
    "state",
    "edition_id",
    "listed_at",
    "locate_due",
    "test_due",
)
