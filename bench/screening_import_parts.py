"""The list import's parts measured alone, side by side in one run — the figures behind the choices in
`core.bulk` and `screening.imports` (docs/benchmarks.md, "Session 7"):

    .venv/bin/python bench/screening_import_parts.py

1. Checked rows across a process boundary: `ValidRow` tuples against `ValidColumns` (one list per field),
   pickled and unpickled with the cyclic collector paused, as the import runs.
2. SQLite inserts through `core.bulk.insert_rows`: one row per statement against 100 (`ROWS_PER_STATEMENT`),
   into the real `screening_riskreport` table (migrated, foreign keys on), inside one transaction.
3. A document-number look-up of 10,000 numbers: 10,000 placeholders against one JSON array (`json_each`).
4. SQLite's commit of one large transaction (a plain table, WAL, the page cache holding it all): the time
   grows faster than the size on this kind of machine.

Nothing here is timed in the test suite; each part prints its own figures.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MASKED = (
    '{"row":%d,"name":"张三丰","document_kind":"resident_id","document":"410105********1234",'
    '"phone":"138****1234","origin":"上海市浦东新区","arrived_at":"2021-08-03T14:30:00+08:00",'
    '"address":"河南省郑州市金水区某街道某社区某路12号","source_reference":""}'
)


def checked_rows(count: int) -> list[object]:
    from fangkong.screening.imports.validation import ValidRow

    arrived = datetime(2021, 8, 3, 6, 30, tzinfo=UTC)
    return [
        ValidRow(
            number + 2,
            "张三丰",
            "resident_id",
            f"4101051990{number:08d}",
            f"138{number:08d}",
            "310115",
            "上海市浦东新区",
            arrived,
            "河南省郑州市金水区某街道某社区某路12号",
            "",
            "410105001001",
            "",
            "zhang san feng",
            date(1990, 1, 1 + number % 28),
            "M",
            MASKED % number,
        )
        for number in range(count)
    ]


def part_transfer(count: int) -> None:
    from fangkong.screening.imports.validation import ValidColumns

    rows = checked_rows(count)
    columns = ValidColumns.of(rows)  # type: ignore[arg-type]
    gc.disable()
    for label, value in (("ValidRow tuples", rows), ("ValidColumns", columns)):
        began = time.perf_counter()
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        dumped = time.perf_counter()
        pickle.loads(data)  # noqa: S301 - our own bytes, just made
        loaded = time.perf_counter()
        print(
            f"  {label:16s} {count:,} rows: pickle {dumped - began:5.2f} s, unpickle {loaded - dumped:5.2f} s, "
            f"{len(data) / 1e6:,.0f} MB"
        )
    gc.enable()


def part_inserts(count: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from fangkong.core import bulk
    from fangkong.screening.models import RiskReport

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # the reports' entry: foreign keys are checked (deferred) as in an import
        cursor.execute("PRAGMA defer_foreign_keys = ON")
    columns = ("id", "entry_id", "source", "reference", "reason", "origin_code", "origin_name", "arrived_at", "data")
    arrived = bulk.db_datetime(datetime(2021, 8, 3, 6, 30, tzinfo=UTC))
    for per_statement in (1, bulk.ROWS_PER_STATEMENT, 1, bulk.ROWS_PER_STATEMENT):
        bulk.ROWS_PER_STATEMENT = per_statement
        with transaction.atomic():
            first = bulk.allocate_ids(RiskReport, count)[0]
            rows = [
                (pk, 1, "police", f"bench:{pk}", "arrival", "310115", "上海市浦东新区", arrived, MASKED % pk)
                for pk in range(first, first + count)
            ]
            began = time.perf_counter()
            bulk.insert_rows(RiskReport, columns, rows, expected=count)
            elapsed = time.perf_counter() - began
            transaction.set_rollback(True)  # entry 1 does not exist: nothing is kept
        print(f"  {per_statement:3d} row(s) per statement: {count:,} reports in {elapsed:5.2f} s")
    bulk.ROWS_PER_STATEMENT = 100


def part_lookups(numbers: int = 10_000, repeat: int = 20) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, kind TEXT, number TEXT, person_id INT, UNIQUE(kind, number))")
    db.executemany(
        "INSERT INTO d (kind, number, person_id) VALUES ('resident_id', ?, 1)",
        [(f"4101{i:014d}",) for i in range(0, 2_000_000, 2)],
    )
    wanted = [f"4101{i:014d}" for i in range(1_000_000, 1_000_000 + numbers)]
    placeholders = ", ".join(["?"] * numbers)
    for label, sql, params in (
        (
            "placeholders",
            f"SELECT number, person_id FROM d WHERE kind = ? AND number IN ({placeholders})",  # noqa: S608
            wanted,
        ),
        (
            "one JSON array",
            "SELECT number, person_id FROM d WHERE kind = ? AND number IN (SELECT value FROM json_each(?))",
            [json.dumps(wanted)],
        ),
    ):
        began = time.perf_counter()
        for _ in range(repeat):
            found = db.execute(sql, ["resident_id", *params]).fetchall()
        each = (time.perf_counter() - began) / repeat * 1000
        print(f"  {label:14s} {each:5.1f} ms per {numbers:,} ({len(found):,} found)")


def part_commit(work: Path, rows_list: tuple[int, ...] = (1_800_000, 3_600_000)) -> None:
    pad = "x" * 400
    for rows in rows_list:
        path = work / f"commit-{rows}.sqlite3"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-3000000")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO t VALUES (?, ?, ?)", ((i, pad, str(i)) for i in range(rows)))
        began = time.perf_counter()
        db.execute("COMMIT")
        elapsed = time.perf_counter() - began
        db.close()
        print(f"  {rows:,} rows, {path.stat().st_size / 1e9:.2f} GB: commit {elapsed:5.2f} s")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fk-bench-parts-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'parts.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    print(f"sqlite {sqlite3.sqlite_version}, load {os.getloadavg()}")
    print("1. checked rows across a process boundary")
    part_transfer(500_000)
    print("2. SQLite inserts through core.bulk.insert_rows")
    part_inserts(200_000)
    print("3. a look-up of 10,000 document numbers")
    part_lookups()
    print("4. SQLite's commit of one large transaction")
    part_commit(work)


if __name__ == "__main__":
    main()
