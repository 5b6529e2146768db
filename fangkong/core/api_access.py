"""Authentication and capability checks for the REST API (django-ninja), mirroring `core.access` for views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.roles import Capability
from fangkong.core.tokens import user_for_token

F = TypeVar("F", bound=Callable[..., Any])


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
