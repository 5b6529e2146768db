"""Reads of core tables, scoped to the user's jurisdiction."""

from __future__ import annotations

from django.db.models import QuerySet

from fangkong.core.models import AuditEntry, Division, Job, User
from fangkong.core.scope import get_scoped, scoped


def audit_entries(user: User, *, action: str = "", target_id: str = "") -> QuerySet[AuditEntry]:
    entries = scoped(AuditEntry.objects.all(), user)
    if action:
        entries = entries.filter(action__startswith=action)
    if target_id:
        entries = entries.filter(target_id=target_id)
    return entries


def jobs_for(user: User) -> QuerySet[Job]:
    return scoped(Job.objects.all(), user)


def access_job(user: User, job_id: str) -> Job:
    return get_scoped(Job.objects.all(), user, pk=job_id)


def divisions_under(user: User, *, parent: str = "") -> QuerySet[Division]:
    divisions = scoped(Division.objects.all(), user)
    if parent:
        return divisions.filter(parent__path=parent)
    root = user.scope_path or ""
    return divisions.filter(path=root)


def access_division(user: User, path: str) -> Division:
    return get_scoped(Division.objects.select_related("parent"), user, path=path)


def divisions_in_scope(user: User, *, level: str = "", parent: str = "") -> QuerySet[Division]:
    divisions = scoped(Division.objects.select_related("parent"), user)
    if level:
        divisions = divisions.filter(level=level)
    if parent:
        divisions = divisions.filter(parent__path=parent)
    return divisions


def child_boundaries(user: User) -> dict[str, object]:
    """The user's jurisdiction split into its children, as a GeoJSON FeatureCollection for a map."""
    root = user.division
    if root is None:
        return {"type": "FeatureCollection", "features": []}
    children = scoped(Division.objects.filter(parent=root, boundary__isnull=False), user).order_by("path")
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": d.name, "code": d.code, "path": d.path}, "geometry": d.boundary}
            for d in children
        ],
    }
