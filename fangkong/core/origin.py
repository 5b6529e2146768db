"""Where the current change comes from (web request, API, CLI, job), carried in a context variable so that
services can audit "from where" without every call passing the request down."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    channel: str = "system"
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[Origin] = contextvars.ContextVar("fangkong_origin", default=Origin())  # noqa: B039 - frozen


def current_origin() -> Origin:
    return _current.get()


@contextmanager
def origin(value: Origin) -> Iterator[Origin]:
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
