"""Domain errors: every service failure is a DomainError with an enum code and a translatable message.

Views and the API turn them into a form error / HTTP 4xx in one place (core.middleware, fangkong.api).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    CONFLICT = "conflict"
    REASON_REQUIRED = "reason_required"
    ALREADY_MERGED = "already_merged"
    IMPORT_FAILED = "import_failed"


class DomainError(Exception):
    status_code = 400
    default_code: ErrorCode = ErrorCode.INVALID

    def __init__(
        self,
        message: str | Promise,
        *,
        code: StrEnum | None = None,
        field: str | None = None,
        row: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.row = row
        self.details = details or []

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": str(self.message)}
        if self.field:
            body["field"] = self.field
        if self.row is not None:
            body["row"] = self.row
        if self.details:
            body["details"] = self.details
        return body


class NotFoundError(DomainError):
    """Also raised for records outside the user's jurisdiction: out of scope looks exactly like absent."""

    status_code = 404
    default_code = ErrorCode.NOT_FOUND

    def __init__(self, message: str | Promise | None = None, **kwargs: Any) -> None:
        super().__init__(message or _("Not found."), **kwargs)


class PermissionDeniedError(DomainError):
    status_code = 403
    default_code = ErrorCode.PERMISSION_DENIED

    def __init__(self, message: str | Promise | None = None, **kwargs: Any) -> None:
        super().__init__(message or _("You do not have permission to do this."), **kwargs)


class ConflictError(DomainError):
    status_code = 409
    default_code = ErrorCode.CONFLICT
