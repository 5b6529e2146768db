"""The navigation bar: each app registers its entries in its AppConfig.ready(); a user sees the entries whose
capability their role has. A new module plugs in with one `register()` call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from fangkong.core.roles import Capability


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    capability: Capability
    order: int = 100


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.url_name] = item


def items_for(user: Any) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted((i for i in _items.values() if user.can(i.capability)), key=lambda i: i.order)


def navigation(request: HttpRequest) -> dict[str, Any]:
    entries = [
        {"label": item.label, "url": reverse(item.url_name), "active": request.path == reverse(item.url_name)}
        for item in items_for(request.user)
    ]
    return {"nav_items": entries}
