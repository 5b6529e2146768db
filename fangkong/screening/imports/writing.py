"""The bulk write of a checked list, inside the caller's transaction.

The registry side goes through `people.services` (bulk_resolve_people: documents resolved in batches
against PersonDocument, following merges, phone-only rows by name and mobile, missing people created with
their documents; bulk_queue_possible_matches: new records with the name and mobile of another record but
no shared document go to the merge queue, as with register_person; bulk_add_sources_from: one provenance
row per list row, derived from its report). The ledger side is written here, since
screening owns it: people not yet in the pool get one entry each (the constraint
`pool_one_open_entry_per_person` holds: people already open only get the report and, where new, the
reason) with its 'listed' event, and every row a RiskReport (reference `<sha256[:16]>:<row>`). Deadlines
and edition come from `screening.services.entry_terms`, as for `list_person`. The tables are written with
`core.bulk` — ids allocated up front inside the transaction, plain tuples through `executemany` on SQLite and
`COPY` on PostgreSQL, no model instances — and the rows that follow from rows already written (a person's
document, an entry's first event, a report's provenance row) are derived by the database (`insert_select`)
without a Python step per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

from fangkong.core import bulk
from fangkong.core.models import User
from fangkong.people.services import bulk_add_sources_from, bulk_queue_possible_matches, bulk_resolve_people
from fangkong.screening.imports.validation import ValidRow
from fangkong.screening.models import OPEN_STATES, ListImport, LoopState, PoolEntry, PoolEvent, RiskReport
from fangkong.screening.services import entry_terms

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
    actor = by.pk if by is not None and by.pk else None
    source = list_import.source
    prefix = f"{list_import.sha256[:16]}:"
    total = len(rows)
    steps = total * 4 or 1
    progress(0, steps)

    # 1. The registry: one identity per person in the file, resolved or created.
    resolution = bulk_resolve_people([row.person for row in rows], insert_batch=INSERT_BATCH)
    person_of, home_of = resolution.person_of, resolution.home_of
    bulk_queue_possible_matches(  # same name and mobile, no shared document: a human decides
        resolution.created_ids, new_records=resolution.created_records
    )
    row_person = [person_of[row.person.key] for row in rows]
    progress(total, steps)
    progress(total * 2, steps)

    # 2. The pool: people already open keep their entry; the others get one new entry each. People this import
    # created cannot be in any pool yet, so only the others are looked up.
    first_for_person: dict[int, ValidRow] = {}
    for person, row in zip(row_person, rows, strict=True):
        first_for_person.setdefault(person, row)
    person_ids = sorted(first_for_person)
    open_entry: dict[int, tuple[int, list[str]]] = {}
    for batch in _chunks([pid for pid in person_ids if pid not in resolution.created_ids]):
        for pk, person_id, reasons in PoolEntry.objects.filter(person_id__in=batch, state__in=OPEN_STATES).values_list(
            "pk", "person_id", "reasons"
        ):
            open_entry[person_id] = (pk, list(reasons))
    entry_of: dict[int, int] = {pid: pk for pid, (pk, _reasons) in open_entry.items()}
    newcomers = [pid for pid in person_ids if pid not in open_entry]
    entry_ids = bulk.allocate_ids(PoolEntry, len(newcomers))
    listed_at, reasons_json = bulk.db_datetime(now), bulk.db_json([reason])
    due: dict[str, tuple[str, Any, Any]] = {}
    entries = []
    unlocated = 0
    for entry_id, person_id in zip(entry_ids, newcomers, strict=True):
        division, is_unlocated = _responsible(home_of[person_id], first_for_person[person_id])
        if division not in due:
            term = entry_terms(division, now=now)
            due[division] = (term.edition_id, bulk.db_datetime(term.locate_due), bulk.db_datetime(term.test_due))
        edition_id, locate_due, test_due = due[division]
        unlocated += is_unlocated
        entry_of[person_id] = entry_id
        entries.append(
            (
                entry_id,
                person_id,
                division,
                is_unlocated,
                reasons_json,
                LoopState.LISTED,
                edition_id,
                listed_at,
                locate_due,
                test_due,
            )
        )
    bulk.insert_rows(PoolEntry, ENTRY_COLUMNS, entries, now=now)
    del entries
    # Each new entry's 'listed' event, derived in the database from the entries just written.
    quoted = connection.ops.quote_name
    new_entries, new_entry_params = bulk.id_block_condition(quoted("id"), entry_ids)
    bulk.insert_select(
        PoolEvent,
        ("entry_id",),
        f"SELECT {quoted('id')} FROM {quoted(PoolEntry._meta.db_table)} WHERE {new_entries}"  # noqa: S608
        f" ORDER BY {quoted('id')}",
        new_entry_params,
        constants={"kind": "listed", "to_state": LoopState.LISTED, "note": source, "by_id": actor},
        now=now,
        expected=len(entry_ids),
    )
    extended = [
        PoolEntry(pk=pk, reasons=[*reasons, reason]) for pk, reasons in open_entry.values() if reason not in reasons
    ]
    PoolEntry.objects.bulk_update(extended, ["reasons"], batch_size=INSERT_BATCH)
    progress(total * 3, steps)

    # 3. One report per row on the ledger (the row as the source saw it, and the import), and from each report
    # the person's provenance row (the same masked row without the import), derived in the database.
    import_tail = f',"import":{list_import.pk}}}'
    arrived: dict[datetime | None, Any] = {}
    for row in rows:
        if row.arrived_at not in arrived:
            arrived[row.arrived_at] = bulk.db_datetime(row.arrived_at)
    report_ids = bulk.allocate_ids(RiskReport, total)
    bulk.insert_rows(
        RiskReport,
        ("id", "entry_id", "source", "reference", "reason", "origin_code", "origin_name", "arrived_at", "data"),
        (
            (
                report_id,
                entry_of[person],
                source,
                f"{prefix}{row.row}",
                reason,
                row.origin_code,
                row.origin_name,
                arrived[row.arrived_at],
                row.masked_json[:-1] + import_tail,  # == db_json({**row.masked(), "import": list_import.pk})
            )
            for report_id, person, row in zip(report_ids, row_person, rows, strict=True)
        ),
        now=now,
        expected=total,
    )
    new_reports, report_params = bulk.id_block_condition(f"report.{quoted('id')}", report_ids)
    data_without_import = bulk.json_without_key(f"report.{quoted('data')}", "import")
    bulk_add_sources_from(
        f"SELECT entry.{quoted('person_id')}, report.{quoted('source')}, report.{quoted('reference')},"  # noqa: S608
        f" {data_without_import} FROM {quoted(RiskReport._meta.db_table)} AS report"
        f" JOIN {quoted(PoolEntry._meta.db_table)} AS entry ON entry.{quoted('id')} = report.{quoted('entry_id')}"
        f" WHERE {new_reports} ORDER BY report.{quoted('id')}",
        report_params,
        by=by,
        expected=total,
    )
    progress(steps, steps)
    return {
        "people_created": resolution.created,
        "entries_created": len(entry_ids),
        "reports_added": total,
        "unlocated": unlocated,
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
