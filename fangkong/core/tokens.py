"""API tokens for machine clients: issued once, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from fangkong.core import audit, rows
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
    """The active user of a live token, or None. Every API call asks this, so it is one statement read into the
    instance by `core.rows` (no ORM query building): the user's row with the token's id and whether its last
    use is over a minute old — the last use is written at most once a minute."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(User, 'u')}, t.id, (t.last_used_at IS NULL OR t.last_used_at < %s)"  # noqa: S608 - names from model metadata, values bound
            " FROM core_apitoken t JOIN core_user u ON u.id = t.user_id"
            " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active",
            [connection.ops.adapt_datetimefield_value(now - timedelta(seconds=60)), _digest(secret)],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    token_id, stale = found[-2:]
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return rows.instance(User, found)
