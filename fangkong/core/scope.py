"""Jurisdiction scope: the ONE mechanism that limits every record a user can reach.

Each scoped model names, in `SCOPE_FIELD`, the column that holds its division path (a materialized path such
as '410302001001'). A user's jurisdiction is a division path too; a record is in scope when its path starts
with the user's. Every selector, form choice, export and API endpoint builds its queryset through
`scoped()` — there is no other filter to forget, and the permission-matrix test proves it for every URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

from fangkong.core.errors import NotFoundError

if TYPE_CHECKING:
    from fangkong.core.models import User

M = TypeVar("M", bound=models.Model)


def scope_field_of(model: type[models.Model]) -> str:
    field = getattr(model, "SCOPE_FIELD", None)
    if not isinstance(field, str):
        raise TypeError(f"{model.__name__} declares no SCOPE_FIELD; it cannot be scoped")
    return field


def scoped(queryset: models.QuerySet[M], user: User | Any) -> models.QuerySet[M]:
    """Restrict `queryset` to the records inside `user`'s jurisdiction (none for anonymous or unscoped users)."""
    path = getattr(user, "scope_path", None) if getattr(user, "is_authenticated", False) else None
    if not path or not getattr(user, "is_active", False):
        return queryset.none()
    field = scope_field_of(queryset.model)
    return queryset.filter(**{f"{field}__startswith": path})


def is_in_scope(path: str | None, user: User | Any) -> bool:
    scope = getattr(user, "scope_path", None)
    return bool(scope and path and path.startswith(scope))


def get_scoped(queryset: models.QuerySet[M], user: User | Any, **lookup: Any) -> M:
    """Fetch one record inside the user's jurisdiction; outside it, the record does not exist for them."""
    found = scoped(queryset, user).filter(**lookup).first()
    if found is None:
        raise NotFoundError()
    return found
