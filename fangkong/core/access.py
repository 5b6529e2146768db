"""Who may call a view: every URL's view is wrapped by exactly one of `requires(capability)` or `public`.

The permission-matrix test reads the declaration from each resolved view, so a view without one fails the
suite, and every declared capability is checked against every role.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from fangkong.core.roles import Capability

PUBLIC = "public"
ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def requires(capability: Capability) -> Callable[[ViewFunc], ViewFunc]:
    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.can(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def public(view: ViewFunc) -> ViewFunc:
    view.required_capability = PUBLIC  # type: ignore[attr-defined]
    return view


def required_capability(view: Callable[..., Any]) -> str | None:
    return getattr(view, "required_capability", None)


if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from fangkong.core.models import User

    class AuthedRequest(HttpRequest):
        """A request that passed `requires()`: its user is a staff account."""

        user: User
        htmx: HtmxDetails
else:
    AuthedRequest = HttpRequest
