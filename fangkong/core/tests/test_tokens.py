"""API tokens: the raw lookup finds the live token's active user as the ORM would, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fangkong.core.models import ApiToken
from fangkong.core.roles import Capability, Role
from fangkong.core.tokens import issue_token, revoke_token, user_for_token


def test_a_live_token_gives_its_user_with_every_field_as_the_orm_reads_it(make_user):
    user = make_user(Role.COMMUNITY_WORKER, "a")
    _row, secret = issue_token(user, name="pad", by=None)
    found = user_for_token(secret)
    assert found is not None
    for field in type(user)._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(type(user).objects.get(pk=user.pk), field.attname), field.name
    assert found.can(Capability.TESTING_SAMPLE) and found.scope_path == user.scope_path


def test_revoked_unknown_or_deactivated_tokens_give_nobody(make_user):
    user = make_user(Role.COMMUNITY_WORKER, "a")
    row, secret = issue_token(user, name="pad", by=None)
    assert user_for_token(secret + "x") is None
    revoke_token(row, by=None)
    assert user_for_token(secret) is None
    other = make_user(Role.COMMUNITY_WORKER, "a")
    _row, second = issue_token(other, name="pad 2", by=None)
    type(other).objects.filter(pk=other.pk).update(is_active=False)
    assert user_for_token(second) is None


def test_the_last_use_is_written_at_most_once_a_minute(make_user):
    user = make_user(Role.COMMUNITY_WORKER, "a")
    row, secret = issue_token(user, name="pad", by=None)
    user_for_token(secret)
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    user_for_token(secret)
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first  # within the minute: unchanged
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    user_for_token(secret)
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first
