"""What every REST endpoint (django-ninja) shares: authentication and capability checks, mirroring
`core.access` for views, and JSON request bodies validated *after* the capability check and the path's record
lookup (a caller without the capability gets 403 and a record outside their jurisdiction 404, whatever they
sent), documented in the OpenAPI schema."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Schema
from ninja.errors import ValidationError
from ninja.security import HttpBearer, django_auth
from pydantic import ValidationError as PydanticValidationError

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.roles import Capability
from fangkong.core.tokens import user_for_token

F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound=Schema)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


API_AUTH = [TokenAuth(), django_auth]


def api_requires(capability: Capability) -> Callable[[F], F]:
    """Declare and enforce the capability an API operation needs (read by the permission-matrix test)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.can(capability):  # type: ignore[union-attr]
                raise PermissionDeniedError()
            return func(request, *args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


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
