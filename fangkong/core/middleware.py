from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fangkong.core.errors import DomainError
from fangkong.core.origin import Origin, origin


class RequestOriginMiddleware:
    """Sets where changes made during this request come from, for the audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        value = Origin(
            channel="api" if request.path.startswith("/api/") else "web",
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=request.headers.get("X-Request-Id", "") or str(uuid.uuid4()),
        )
        with origin(value):
            return self.get_response(request)


class DomainErrorMiddleware:
    """Turns a DomainError escaping an HTML view into a page with the right status and message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return render(request, "core/error.html", {"error": exception}, status=exception.status_code)
