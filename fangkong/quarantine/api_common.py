"""What the quarantine API's endpoints share: JSON request bodies validated *after* the capability check and the
path's record lookup (a caller without the capability gets 403 and a record outside their jurisdiction 404,
whatever they sent) and documented in the OpenAPI schema — the same helpers as the testing API's
(`testing/api.py`; a shared home in `core.api_access` would serve both) — and the error body, as `fangkong.api`
writes it for every `DomainError`."""

import json
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import ValidationError
from pydantic import ValidationError as PydanticValidationError

S = TypeVar("S", bound=Schema)


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


def inline_refs(schema: Any, definitions: dict[str, Any] | None = None) -> Any:
    """A pydantic JSON schema with its local `$defs` references inlined, for the OpenAPI request body."""
    definitions = schema.get("$defs", {}) if definitions is None else definitions
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline_refs(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: inline_refs(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [inline_refs(value, definitions) for value in schema]
    return schema


def documented_body(schema: type[Schema]) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": inline_refs(schema.model_json_schema())}}, "required": True}
    return {"requestBody": body}


def json_body(request: HttpRequest, schema: type[S]) -> S:
    """The JSON body, validated *after* the capability check and the path's record lookup (422 with the field
    when it does not fit `schema`)."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationError([{"loc": ["body"], "msg": "The body is not JSON."}]) from None
    try:
        return schema.model_validate(data)
    except PydanticValidationError as error:
        raise ValidationError(
            [{"loc": ["body", "payload", *item["loc"]], "msg": item["msg"]} for item in error.errors()]
        ) from None
