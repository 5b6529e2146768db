"""Model instances to and from plain cursor rows, for the few hot paths where building an ORM query costs more
than the statement (the sampling API's single scan: token, site and round lookups, the audit insert).

`columns(Model, alias)` gives the model's concrete columns in field order for a hand-written SELECT;
`instance(Model, row)` builds the instance from that slice of a row with the same database converters the
ORM applies (cached per model and connection, so a call costs a tuple walk and `Model.from_db`); `insert`
writes one new instance as the ORM's `save()` would (each field's `pre_save` and `get_db_prep_save`, the
primary key read back), without signals — the project sends none on these models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any, Any, Any], Any]


@cache
def _converters(model: type[models.Model], vendor: str) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        functions = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if functions:
            found.append((index, functions, col))
    return tuple(found)


def _column(field: models.Field[Any, Any]) -> str:
    assert field.column is not None  # a concrete field
    return field.column


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@cache
def columns(model: type[models.Model], alias: str) -> str:
    """`alias.col1, alias.col2, …` in the order `instance` expects."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(_column(field))}" for field in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """The instance from `row[start : start + width(model)]`, as a queryset would have built it."""
    values = list(row[start : start + len(model._meta.concrete_fields)])
    for index, functions, col in _converters(model, connection.vendor):
        value = values[index]
        for function in functions:
            value = function(value, col, connection)
        values[index] = value
    return model.from_db(connection.alias, _attnames(model), values)


@cache
def _insert_sql(model: type[models.Model], vendor: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    quote = connection.ops.quote_name
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    pk = model._meta.pk
    assert pk is not None
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(_column(field)) for field in fields)}) "  # noqa: S608 - names from model metadata, values bound
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(_column(pk))}"
    )
    return sql, fields


def insert(obj: M) -> M:
    """INSERT one new instance (auto primary key) in one statement; sets and returns it with its pk."""
    sql, fields = _insert_sql(type(obj), connection.vendor)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
