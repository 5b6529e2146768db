"""Fixtures for the sampling → lab → recall tests: a county round, a site in community A, a lab, and the staff
who work them. Records in a state are reached through the services, in each test."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from fangkong.core.identity import make_resident_id
from fangkong.core.models import Organization, OrganizationKind
from fangkong.core.roles import Role
from fangkong.testing import services
from fangkong.testing.models import RoundStatus

_sequence = count(1)


def resident_id(n: int | None = None) -> str:
    """A valid resident ID number (region 410302, born 1990), different for each n."""
    from datetime import date

    return make_resident_id("410302", date(1990, 1, 1) + timedelta(days=n if n is not None else next(_sequence)), 1)


@pytest.fixture
def manager(make_user: Any) -> Any:
    return make_user(Role.COUNTY_HQ, "county")


@pytest.fixture
def sampler_user(make_user: Any) -> Any:
    return make_user(Role.COMMUNITY_WORKER, "a")


@pytest.fixture
def lab(tree: dict[str, Any]) -> Organization:
    return Organization.objects.create(kind=OrganizationKind.LAB, division=tree["city"], name="示范市检测中心")


@pytest.fixture
def lab_user(make_user: Any, lab: Organization) -> Any:
    return make_user(Role.LAB, "city", organization=lab)


@pytest.fixture
def site(tree: dict[str, Any], manager: Any) -> Any:
    return services.create_site(tree["a"], name="东社区广场", kind="fixed", hourly_capacity=300, by=manager)


@pytest.fixture
def test_round(tree: dict[str, Any], manager: Any) -> Any:
    now = timezone.now()
    made = services.create_round(
        tree["county"],
        name="第一轮全员核酸",
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=22),
        pool_size=10,
        by=manager,
    )
    return services.set_round_status(made, status=RoundStatus.OPEN, by=manager)
