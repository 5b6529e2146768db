"""API tokens for machine clients: issued once, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from fangkong.core import audit
from fangkong.core.models import ApiToken, User

TOKEN_PREFIX = "fk_"  # noqa: S105 - a public prefix, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_token(user: User, *, name: str, by: User | None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the secret, which is never shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[3:11], digest=_digest(secret))
    audit.record("core.api_token.issue", by=by, target=token, changes={"user": [None, user.get_username()]})
    return token, secret


@transaction.atomic
def revoke_token(token: ApiToken, *, by: User | None) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record("core.api_token.revoke", by=by, target=token)


def user_for_token(secret: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
