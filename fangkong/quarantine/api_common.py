"""What the quarantine API's endpoints share: JSON request bodies validated *after* the capability check and the
path's record lookup (a caller without the capability gets 403 and a record outside their jurisdiction 404,
whatever they sent) and documented in the OpenAPI schema (`core.api_access`, shared with every API) — and the
error body, as `fangkong.api` writes it for every `DomainError`."""

from typing import Any

from ninja import Field, Schema

from fangkong.core.api_access import documented_body, inline_refs, json_body

__all__ = ["ERRORS", "ErrorOut", "documented_body", "inline_refs", "json_body"]


class ErrorOut(Schema):
    code: str = Field(description="machine-readable: a QuarantineErrorCode / CareErrorCode, not_found, invalid, …")
    message: str = Field(description="for people, in the user's language")
    field: str | None = Field(None, description="the input at fault (`placement`, `temperature`, `result`, …)")
    row: int | None = Field(None, description="for lists: the row at fault (readings: from 1)")
    details: list[dict[str, Any]] | None = Field(
        None, description="every bad row or every reason (row, field, code, message)"
    )


# Error answers, for the OpenAPI schema: 400 refused by a rule, 403 capability, 404 absent or outside the
# jurisdiction, 409 a concurrent change won, 422 the body or a parameter does not fit the schema.
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
