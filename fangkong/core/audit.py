"""The audit trail: `record()` is called by services inside their own transaction, never from signals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from fangkong.core import rows
from fangkong.core.models import AuditEntry, User
from fangkong.core.origin import current_origin


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value changed (values already masked where sensitive)."""
    keys = sorted(set(old) | set(new))
    return {key: [old.get(key), new.get(key)] for key in keys if old.get(key) != new.get(key)}


def record(
    action: str,
    *,
    by: User | None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    division_path: str | None = "",
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    where = current_origin()
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    entry = AuditEntry(
        actor=by if by is not None and by.pk else None,
        actor_label=by.get_username() if by is not None and by.pk else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        division_path=division_path or "",
        changes=dict(changes or {}),
        reason=reason,
        origin=where.channel,
        ip_address=where.ip_address,
        user_agent=where.user_agent[:300],
        request_id=where.request_id,
    )
    return rows.insert(entry)  # one statement, no ORM query building: every scan of the sampling API writes one
