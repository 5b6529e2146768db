from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from fangkong.core import audit
from fangkong.core.models import AuditEntry
from fangkong.core.origin import Origin, origin
from fangkong.core.roles import Role


def test_record_keeps_who_what_and_from_where(tree, make_user):
    user = make_user(Role.CITY_HQ, "city")
    with origin(Origin(channel="web", ip_address="10.0.0.8", user_agent="pytest", request_id="r-1")):
        entry = audit.record("people.person.update", by=user, target=tree["a"], changes={"name": ["a", "b"]})
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.origin, entry.ip_address, entry.request_id) == (
        user,
        user.username,
        "web",
        "10.0.0.8",
        "r-1",
    )
    assert entry.target_type == "core.division" and entry.changes == {"name": ["a", "b"]}


def test_the_audit_log_is_append_only_in_the_database(db, monkeypatch):
    from django.db import connection

    from fangkong.core import audit_lock

    monkeypatch.setattr(audit_lock, "purge_allowed", False)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL fangkong.audit_purge = 'off'")
    entry = audit.record("x.y", by=None, target_type="t", target_id="1")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.reason == ""


def test_admin_offers_no_change_or_delete_of_audit_entries(rf, tree, make_user):
    from django.contrib import admin

    model_admin = admin.site._registry[AuditEntry]
    request = rf.get("/")
    request.user = make_user(Role.CITY_HQ, "city", is_superuser=True, is_staff=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_diff_lists_only_changed_fields():
    assert audit.diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": [2, 3], "c": [None, 4]}
