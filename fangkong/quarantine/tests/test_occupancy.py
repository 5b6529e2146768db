"""Occupancy by site, county and day, and the 14-day forecast of rooms needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.quarantine.selectors import occupancy
from fangkong.quarantine.services import release
from fangkong.quarantine.tests.care_world import listed, place, ready_site
from fangkong.quarantine.tests.test_scheduled_tests import work_all


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


def test_occupancy_by_site_county_and_day(hq, register, tree):
    site = ready_site(hq, tree["street"], rooms=4)
    other = ready_site(hq, tree["c"], name="王村隔离点", rooms=2, medic=False)
    place(hq, register, site, n=3)
    place(hq, register, other, where="c", n=1)
    rows = {row.site.pk: row for row in occupancy.by_site(hq)}
    assert (rows[site.pk].rooms, rows[site.pk].in_use, rows[site.pk].free, rows[site.pk].people) == (4, 3, 1, 3)
    assert rows[site.pk].percent == 75
    counties = {c.county: c for c in occupancy.by_county(list(rows.values()))}
    assert {code: (c.rooms, c.in_use) for code, c in counties.items()} == {"410302": (4, 3), "410303": (2, 1)}
    assert occupancy.by_day(hq, until=timezone.localdate())[-1] == (timezone.localdate(), 4)
    # A user of community C's county sees only its own site.
    county2 = User.objects.create_user(username="c2", role=Role.COUNTY_HQ, division=tree["county2"])
    assert [row.site.pk for row in occupancy.by_site(county2)] == [other.pk]


def test_the_forecast_counts_held_rooms_until_release_and_the_pipeline(hq, register, tree, make_user):
    site = ready_site(hq, tree["street"], rooms=3)
    ending_today = place(hq, register, site, days_ago=14)[0]  # ed8: quarantine ends today
    place(hq, register, site, days_ago=10)  # ends in 4 days
    listed(register, "a", "close_contact")  # awaiting placement: 14 days from listing (today)
    listed(register, "a", "companion")  # not a reason for quarantine: not in the pipeline
    today = timezone.localdate()
    forecast = occupancy.forecast(hq, today=today)
    assert forecast.days[0] == today and len(forecast.days) == 14
    assert forecast.held[:5] == [1, 1, 1, 1, 0]
    assert forecast.releases[:5] == [1, 0, 0, 0, 1]
    assert forecast.pipeline == [1] * 14 and forecast.waiting_people == 1
    assert forecast.capacity == 3 and forecast.shortfall_from is None
    assert forecast.as_chart()["needed"][:5] == [2, 2, 2, 2, 1]
    # Releasing frees the room in the occupancy counts at once.
    staff = make_user(Role.QUARANTINE_SITE_MANAGER, "street")
    work_all(ending_today, staff)
    release.release_placement(ending_today, by=staff)
    assert occupancy.by_site(hq)[0].in_use == 1
    assert occupancy.forecast(hq, today=today + timedelta(days=0)).held[0] == 1
