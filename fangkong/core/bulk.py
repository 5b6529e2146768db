"""Writing many rows fast, inside the caller's transaction: ids allocated up front, then plain tuples —
`executemany` of many-row INSERT statements on SQLite, `COPY … FROM STDIN` on PostgreSQL (psycopg 3). No
model instances and no per-field Django preparation on the hot path, which is what made `bulk_create` cost
~75 % of a million-row list import.

The caller passes values already in their database form, in the order of `fields`: ids as ints, text as
str, dates through `db_date()`, datetimes through `db_datetime()`, JSON through `db_json()`. Every concrete field the
caller does not name is written with its default (`auto_now`/`auto_now_add` fields with `now`), prepared once
by Django itself, so a new column with a default needs no change here.

Ids: `allocate_ids()` reserves a block inside the transaction. On SQLite the settings open every
transaction IMMEDIATE (the write lock is held from its start), so `max(id, sqlite_sequence) + 1 …` cannot
collide; on PostgreSQL the ids come from the table's own sequence (`nextval` over `generate_series`), safe
alongside concurrent inserts.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from itertools import chain, islice
from typing import Any, cast

from django.db import connection, models
from django.utils import timezone

SQLITE_CACHE_KIB = 512 * 1024
SQLITE_CACHE_MAX_KIB = 4 * 1024 * 1024  # a bigger load spills to the write-ahead log beyond this, as before
CACHE_KIB_PER_ROW = 3  # a list row dirties ~2.5 KiB across its six tables and their indexes
REBUILD_INDEXES_FROM = 50_000  # rows, and at least as many as the table holds
# SQLite: rows per INSERT statement. One statement of 100 rows costs about 40 % of 100 one-row statements
# (each execution's set-up and halt — foreign-key counters, the IN list of a partial index's condition — is
# paid once), within the connection's limit on bound parameters.
ROWS_PER_STATEMENT = 100


class BulkWriteError(RuntimeError):
    """A programming error: the bulk writer was used outside a transaction or without a required column."""


def _column(field: Any) -> str:
    column: str = field.column
    return column


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise BulkWriteError("bulk writes allocate ids and must run inside transaction.atomic()")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def db_datetime(value: datetime | None) -> Any:
    """An aware datetime as this database stores it (SQLite: naive UTC text, as Django writes it)."""
    if value is None or is_postgresql():
        return value
    return connection.ops.adapt_datetimefield_value(value)


def db_date(value: date | None) -> Any:
    """A date as this database stores it (SQLite: ISO text, as Django writes it)."""
    if value is None or is_postgresql():
        return value
    return value.isoformat()


def db_bool(value: bool) -> Any:
    """A boolean as this database takes it: SQLite stores 0/1, and Python's sqlite3 binds an int directly but
    sends a bool through its adapter look-up (two failed attribute look-ups per value: ~1 µs, a second per
    million rows); PostgreSQL takes the bool."""
    return value if is_postgresql() else int(value)


_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ASCII_JSON = json.JSONEncoder(separators=(",", ":"))


def db_json(value: Any) -> str:
    """JSON text for a JSONField column, compact and with Chinese text as UTF-8 rather than \\u escapes: the
    same value as Django's own `json.dumps` (both read back equal; PostgreSQL parses either into the same
    jsonb), in ~2/3 of the bytes and ~60 % of the time, which a million-row list writes twice. Text that is
    not valid UTF-8 (a lone surrogate, which an API payload's JSON can carry) falls back to escapes."""
    text = _COMPACT_JSON.encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _ASCII_JSON.encode(value)
    return text


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration of a bulk load (and in the processes it forks).
    A million-row load keeps millions of tuples and strings alive; every full collection walks all of them,
    which made the write's Python loops grow faster than the row count (measured: 13 s of `bulk_resolve_people`'s
    own time at 1 M rows against 0.7 s at 100 k). Plain rows hold no reference cycles, so nothing is left
    for the collector; reference counting frees everything as before. The previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`, reserved inside the current transaction."""
    _require_transaction()
    if count <= 0:
        return []
    table = model._meta.db_table
    column = _column(model._meta.pk)
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
            )
            return [row[0] for row in cursor.fetchall()]
        quoted = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({quoted(column)}) FROM {quoted(table)}")  # noqa: S608 - names from the model
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        sequence = cursor.fetchone()
        start = max(highest, sequence[0] if sequence else 0) + 1  # AUTOINCREMENT never reuses an id
        return list(range(start, start + count))


def _fields_by_attname(model: type[models.Model], names: Sequence[str]) -> dict[str, Any]:
    """`model`'s concrete fields by attname; a name that is not one of them is a programming error."""
    by_name = {field.attname: field for field in model._meta.concrete_fields}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise BulkWriteError(f"{model.__name__} has no column {unknown[0]}")
    return by_name


def json_without_key(column: str, key: str) -> str:
    """SQL for the JSON in `column` without its top-level `key` (a literal from the code, not from users)."""
    if is_postgresql():
        return f"{column} - '{key}'"
    return f"json_remove({column}, '$.{key}')"


def _defaults(model: type[models.Model], named: Sequence[str], now: datetime) -> tuple[list[str], tuple[Any, ...]]:
    """The columns the caller did not name, with their prepared default values."""
    columns: list[str] = []
    values: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.attname in named:
            continue
        if field.primary_key:
            continue  # not named: the database assigns it (allocate ids when the caller needs them)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value: Any = now
        else:
            value = field.get_default()  # Django's rule: the declared default, '' for text, else None
            if value is None and not field.null:
                raise BulkWriteError(f"{model.__name__}.{field.attname} has no default: pass it")
        columns.append(_column(field))
        values.append(field.get_db_prep_save(value, connection))
    return columns, tuple(values)


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    now: datetime | None = None,
    expected: int | None = None,
) -> int:
    """Insert `rows` (tuples of database-ready values for `fields`, by attname) into `model`'s table; returns
    the number of rows. Name the primary key among `fields` (from `allocate_ids`) when the caller needs the
    ids; otherwise the database assigns them. `expected` is the row count when `rows` is a generator (on
    SQLite a large insert rebuilds the table's indexes instead of growing them row by row). Call inside a
    transaction."""
    _require_transaction()
    by_name = _fields_by_attname(model, fields)
    extra_columns, extra = _defaults(model, fields, now or timezone.now())
    columns = [_column(by_name[name]) for name in fields] + extra_columns
    quoted = connection.ops.quote_name
    table = quoted(model._meta.db_table)
    column_list = ", ".join(quoted(column) for column in columns)
    count = 0
    rows_hint = len(rows) if isinstance(rows, Sized) else expected
    with connection.cursor() as cursor:
        if is_postgresql():
            raw = cursor.cursor  # psycopg 3
            full_rows = (row + extra for row in rows) if extra else rows
            with raw.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in full_rows:
                    copy.write_row(row)
                    count += 1
            return count
        # The columns the caller did not name hold the same value on every row: written into the statement as
        # literals, so SQLite binds fewer parameters; the caller's rows (a list or a generator) go to
        # executemany `per_statement` at a time, flattened in C (`_groups`).
        literals = [_sqlite_literal(value) for value in extra]
        if any(literal is None for literal in literals):
            literals, rows = [], (row + extra for row in rows)
        bound = len(columns) - len(literals)
        values = "(" + ", ".join(["%s"] * bound + cast(list[str], literals)) + ")"
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per_statement = max(1, min(ROWS_PER_STATEMENT, limit // max(bound, 1)))
        rest: list[tuple[Any, ...]] = []
        with _sqlite_large_insert(cursor, model, rows_hint):
            cursor.executemany(  # sqlite3 reads the groups one by one: the rows are never all flattened at once
                f"INSERT INTO {table} ({column_list}) VALUES {', '.join([values] * per_statement)}",  # noqa: S608
                cast(Any, _groups(rows, per_statement, bound, rest)),
            )
            count = int(max(cursor.rowcount, 0))
            if rest:  # the last rows, fewer than a group
                last = f"INSERT INTO {table} ({column_list}) VALUES {', '.join([values] * len(rest))}"  # noqa: S608
                cursor.execute(last, tuple(chain.from_iterable(rest)))
                count += int(max(cursor.rowcount, 0))
    return count


def _groups(
    rows: Iterable[tuple[Any, ...]], size: int, width: int, rest: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """`rows` `size` at a time, each group's values flattened into one tuple (the parameters of a statement of
    `size` rows); a last group smaller than `size` is left in `rest` for the caller. Every row must have `width`
    values: flattened, a short row and a long one in the same group would shift values into other columns
    without SQLite noticing, where a one-row statement would have refused either."""
    iterator = iter(rows)
    done = 0
    while group := list(islice(iterator, size)):
        if set(map(len, group)) != {width}:
            wrong = next(index for index, row in enumerate(group) if len(row) != width)
            raise BulkWriteError(f"row {done + wrong} has {len(group[wrong])} values for {width} columns")
        if len(group) < size:
            rest.extend(group)
            return
        done += size
        yield tuple(chain.from_iterable(group))


def insert_select(
    model: type[models.Model],
    fields: Sequence[str],
    select: str,
    params: Sequence[Any],
    *,
    constants: dict[str, Any] | None = None,
    now: datetime | None = None,
    expected: int | None = None,
) -> int:
    """Insert into `model`'s table the rows of `select` — an SQL query whose columns are the values of `fields`,
    in order, taken from columns already in the database — without a Python step per row: for rows the
    database can derive from rows written earlier in the transaction (a person's document from the person row,
    an entry's first event from the entry). `constants` (by attname, Python values) are the same on every row;
    the other columns get their defaults as in `insert_rows`. `expected` (the row count, when known) lets
    SQLite rebuild the table's indexes after a large insert. Returns the number of rows. Call inside a
    transaction."""
    _require_transaction()
    constants = constants or {}
    named = [*fields, *constants]
    by_name = _fields_by_attname(model, named)
    extra_columns, extra = _defaults(model, named, now or timezone.now())
    fixed_columns = [_column(by_name[name]) for name in constants] + extra_columns
    fixed = [by_name[name].get_db_prep_save(value, connection) for name, value in constants.items()] + list(extra)
    quoted = connection.ops.quote_name
    columns = ", ".join(quoted(column) for column in [_column(by_name[name]) for name in fields] + fixed_columns)
    if is_postgresql():  # typed: an untyped NULL or text parameter would not go into a bigint or timestamp column
        types = {_column(field): field.cast_db_type(connection) for field in model._meta.concrete_fields}
        placeholders = "".join(f", CAST(%s AS {types[column]})" for column in fixed_columns)
    else:
        placeholders = "".join(", %s" for _ in fixed_columns)
    statement = (
        f"INSERT INTO {quoted(model._meta.db_table)} ({columns})"  # noqa: S608 - model names; values are params
        f" SELECT derived.*{placeholders} FROM ({select}) AS derived"
    )
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(statement, [*fixed, *params])
            return int(max(cursor.rowcount, 0))
        with _sqlite_large_insert(cursor, model, expected):
            cursor.execute(statement, [*fixed, *params])
            count = int(max(cursor.rowcount, 0))  # before the index rebuild's statements reset it
        return count


def id_block_condition(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """SQL matching `column` against `ids` (as `allocate_ids` returns them): a range when they form one block
    (always on SQLite), else one array parameter on PostgreSQL or a JSON array on SQLite."""
    if not ids:
        return "1 = 0", []
    if list(ids) == list(range(ids[0], ids[0] + len(ids))):  # compared in C: ~10 ms for a million ids
        return f"{column} BETWEEN %s AND %s", [ids[0], ids[-1]]
    if is_postgresql():
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]  # noqa: S608 - a column name


@contextmanager
def _sqlite_large_insert(cursor: Any, model: type[models.Model], rows: int | None) -> Iterator[None]:
    """Around one large SQLite insert: a page cache of at least `SQLITE_CACHE_KIB` (index pages of a table
    growing by a million rows do not fit SQLite's default 2 MB; the inserts then thrash it), and the table's
    indexes dropped before and built again after when `_sqlite_indexes_to_rebuild` says so."""
    quoted = connection.ops.quote_name
    with sqlite_page_cache(SQLITE_CACHE_KIB):
        deferred = model._meta.db_table in _DEFERRED.get()
        rebuild = [] if deferred else _sqlite_indexes_to_rebuild(cursor, model, rows)
        for name, _sql in rebuild:
            cursor.execute(f"DROP INDEX {quoted(name)}")
        yield
        for _name, sql in rebuild:
            cursor.execute(sql)


_DEFERRED: ContextVar[frozenset[str]] = ContextVar("bulk_deferred_index_tables", default=frozenset())


@contextmanager
def indexes_deferred(model: type[models.Model], rows: int, *, keep: Sequence[str] = ()) -> Iterator[None]:
    """Around a load of about `rows` rows into `model`'s table made of several inserts in one transaction (a
    file written chunk by chunk): on SQLite, when the load is large against the table, its indexes are dropped
    once before and built again once after — not around each insert — except those whose first column is in
    `keep` (columns the load looks rows up by while it writes). On an exception nothing is rebuilt: the
    transaction's rollback restores them. A no-op on other databases."""
    _require_transaction()
    if connection.vendor != "sqlite":
        yield
        return
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        rebuild = []
        for name, sql in _sqlite_indexes_to_rebuild(cursor, model, rows):
            cursor.execute(f"PRAGMA index_info({quoted(name)})")
            if min(cursor.fetchall())[2] not in keep:  # (position, column id, column name): the first column
                rebuild.append((name, sql))
                cursor.execute(f"DROP INDEX {quoted(name)}")
    token = _DEFERRED.set(_DEFERRED.get() | {model._meta.db_table})
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    with connection.cursor() as cursor:
        for _name, sql in rebuild:
            cursor.execute(sql)


def _cache_kib(cursor: Any, setting: int) -> int:
    """`PRAGMA cache_size` in KiB (negative: KiB already; positive: pages)."""
    if setting < 0:
        return -setting
    cursor.execute("PRAGMA page_size")
    return setting * int(cursor.fetchone()[0]) // 1024


@contextmanager
def sqlite_page_cache(kib: int) -> Iterator[None]:
    """SQLite's page cache raised to at least `kib` KiB for the duration (never lowered), then given back.
    A no-op on other databases."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        raised = kib > _cache_kib(cursor, before)
        if raised:
            cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
        try:
            yield
        finally:
            if raised:
                cursor.execute(f"PRAGMA cache_size = {before}")


@contextmanager
def large_write(rows: int) -> Iterator[None]:
    """Around a transaction's bulk writes of about `rows` rows per table: on SQLite, a page cache sized for the
    whole load (`CACHE_KIB_PER_ROW` each, between `SQLITE_CACHE_KIB` and `SQLITE_CACHE_MAX_KIB`) until the
    caller leaves, so that the pages a million-row load dirties stay in memory and go to the write-ahead log
    once, at commit, instead of being spilled to it and written again as each table grows. Wrap the whole
    transaction in it, so that the cache is given back after the commit (a no-op on other databases)."""
    with sqlite_page_cache(max(SQLITE_CACHE_KIB, min(rows * CACHE_KIB_PER_ROW, SQLITE_CACHE_MAX_KIB))):
        yield


def _sqlite_literal(value: Any) -> str | None:
    """A prepared default value (None, bool, int or text) as an SQLite literal in a statement that Django's
    SQLite cursor will still format ('%' doubled), or None for other types (then bound as a parameter)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    return None


def _sqlite_indexes_to_rebuild(cursor: Any, model: type[models.Model], rows: int | None) -> list[tuple[str, str]]:
    """The table's droppable indexes (name, CREATE statement) when `rows` is large against the table: then
    dropping them and building them again after the insert (one sort each) costs about half the CPU of
    inserting every row into every index. Inside the transaction, so a failure rolls the DDL back too, and
    readers (WAL) keep seeing the old table. Indexes SQLite made for inline UNIQUE constraints stay."""
    if rows is None or rows < REBUILD_INDEXES_FROM:
        return []
    table = model._meta.db_table
    quoted = connection.ops.quote_name
    cursor.execute(f"SELECT MAX({quoted(_column(model._meta.pk))}) FROM {quoted(table)}")  # noqa: S608 - model
    existing = cursor.fetchone()[0] or 0
    if rows < existing:
        return []
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [table]
    )
    return [(name, sql) for name, sql in cursor.fetchall()]
