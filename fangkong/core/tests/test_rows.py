"""core.rows: instances read from a plain cursor row and rows inserted without the ORM's query building are the
same as the ORM's, field by field (JSON, IP address, datetimes, foreign keys), on SQLite and PostgreSQL."""

from __future__ import annotations

from django.db import connection

from fangkong.core import rows
from fangkong.core.models import AuditEntry
from fangkong.core.origin import Origin, origin
from fangkong.core.roles import Role


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields}


def test_insert_writes_what_the_orm_reads_back(make_user):
    user = make_user(Role.CITY_HQ, "a")
    entry = AuditEntry(
        actor=user,
        actor_label=user.get_username(),
        action="core.test",
        target_type="core.user",
        target_id=str(user.pk),
        division_path=user.division_id,
        changes={"name": ["王某", "王*"], "n": [1, 2], "nested": {"a": [None, True]}},
        origin="api",
        ip_address="10.1.2.3",
        user_agent="pad",
    )
    assert rows.insert(entry) is entry and entry.pk is not None and entry.at is not None
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert _fields(stored) == _fields(entry)
    assert not entry._state.adding and entry._state.db == "default"


def test_instance_from_a_cursor_row_equals_the_orm_instance(make_user):
    user = make_user(Role.COMMUNITY_WORKER, "a")
    with origin(Origin(channel="web", ip_address="::1", request_id="r-1")):
        from fangkong.core.audit import record

        made = record("core.test", by=user, target=user, changes={"flag": [False, True]}, reason="why")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 42, {rows.columns(AuditEntry, 'a')}, {rows.columns(type(user), 'u')}"  # noqa: S608 - test
            " FROM core_auditentry a JOIN core_user u ON u.id = a.actor_id WHERE a.id = %s",
            [made.pk],
        )
        row = cursor.fetchone()
    entry = rows.instance(AuditEntry, row, 1)
    actor = rows.instance(type(user), row, 1 + rows.width(AuditEntry))
    assert _fields(entry) == _fields(AuditEntry.objects.get(pk=made.pk))
    assert entry.changes == {"flag": [False, True]} and entry.ip_address == "::1"
    assert _fields(actor) == _fields(type(user).objects.get(pk=user.pk))
    assert not entry._state.adding
