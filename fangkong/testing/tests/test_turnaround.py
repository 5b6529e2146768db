"""Turnaround per round and per lab: medians, 90th percentiles and the share within target, late waiting tubes
included, on whichever database the suite runs."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.core.cache import cache
from django.utils import timezone

from fangkong.core.roles import Role
from fangkong.testing.models import Tube
from fangkong.testing.tests.certificate_rows import lab, mass_round, site
from fangkong.testing.turnaround import nearest_rank, turnaround

_numbers = count(1)


def tube(test_round, *, where, laboratory, opened, receipt_h=None, result_h=None, is_retest=False):
    return Tube.objects.create(
        barcode=f"TA{next(_numbers):08d}",
        round=test_round,
        site=where,
        division=where.division,
        capacity=1 if is_retest else 10,
        sample_count=1,
        is_retest=is_retest,
        opened_at=opened,
        received_at=opened + timedelta(hours=receipt_h) if receipt_h is not None else None,
        resulted_at=opened + timedelta(hours=result_h) if result_h is not None else None,
        lab=laboratory,
    )


@pytest.fixture
def scene(tree):
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(hours=30)
    test_round = mass_round(tree, starts_at=start)  # targets 6 / 12 / 24 h
    first, second = lab(tree, "一号实验室"), lab(tree, "二号实验室")
    where = site(tree, "a")
    for receipt, result in ((2, 4), (3, 8), (5, 10), (7, 14)):
        tube(test_round, where=where, laboratory=first, opened=start, receipt_h=receipt, result_h=result)
    tube(test_round, where=where, laboratory=second, opened=start, receipt_h=10, result_h=20)
    tube(test_round, where=where, laboratory=second, opened=now - timedelta(hours=13), receipt_h=1)  # result late
    tube(test_round, where=where, laboratory=None, opened=now - timedelta(hours=3))  # inside both targets
    tube(test_round, where=where, laboratory=first, opened=start, receipt_h=1, result_h=30, is_retest=True)  # ignored
    return {"now": now, "round": test_round, "first": first, "second": second}


def test_figures_per_round(scene, make_user):
    figures = turnaround(make_user(Role.COUNTY_HQ, "county"), now=scene["now"])
    (row,) = figures.rounds
    assert row.tubes == 7 and not row.is_complete and row.completion_hours is None
    assert row.to_result.reached == 5
    assert row.to_result.median_hours == 10 and row.to_result.p90_hours == 20  # 4, 8, 10, 14, 20
    assert (row.to_result.within, row.to_result.late) == (3, 3)  # 14 h and 20 h late; one tube waiting 13 h
    assert row.to_result.percent_within == 50.0 and row.to_result.target_hours == 12
    assert row.to_receipt.reached == 6 and (row.to_receipt.within, row.to_receipt.late) == (4, 2)  # 7 h, 10 h
    assert row.elapsed_hours == 30 and row.completion_late  # still running after 30 h, target 24


def test_figures_per_lab(scene, make_user):
    figures = turnaround(make_user(Role.COUNTY_HQ, "county"), now=scene["now"])
    by_name = {lab.name: lab for lab in figures.labs}
    first, second, unassigned = by_name["一号实验室"], by_name["二号实验室"], by_name[""]
    assert first.to_result.median_hours == 8 and first.to_result.p90_hours == 14
    assert (first.to_result.within, first.to_result.late) == (3, 1)
    assert (second.to_result.within, second.to_result.late) == (0, 2) and second.to_result.percent_within == 0
    assert unassigned.lab_id is None and unassigned.to_result.percent_within is None  # nothing judged yet
    chart = figures.chart()
    assert chart["result_target"] == 12 and len(chart["labs"]) == 3


def test_a_complete_round_reports_its_completion_time(tree, make_user):
    start = timezone.now() - timedelta(hours=40)
    test_round = mass_round(tree, starts_at=start)
    where, laboratory = site(tree, "a"), lab(tree)
    tube(test_round, where=where, laboratory=laboratory, opened=start + timedelta(hours=2), receipt_h=3, result_h=7.5)
    (row,) = turnaround(make_user(Role.CITY_HQ, "city")).rounds
    assert row.is_complete and row.completion_hours == 9.5 and not row.completion_late
    assert row.to_result.median_hours == 7.5


def test_only_tubes_in_the_users_jurisdiction_count(scene, make_user, tree):
    other = site(tree, "b")
    tube(
        scene["round"],
        where=other,
        laboratory=scene["first"],
        opened=scene["now"] - timedelta(hours=40),
        receipt_h=1,
        result_h=2,
    )
    community_a = turnaround(make_user(Role.COMMUNITY_WORKER, "a"), now=scene["now"]).rounds[0]
    assert community_a.tubes == 7
    assert turnaround(make_user(Role.COUNTY_HQ, "county"), now=scene["now"]).rounds[0].tubes == 8
    assert turnaround(make_user(Role.COUNTY_HQ, "county2"), now=scene["now"]).rounds == []  # not their round


def test_nearest_rank():
    assert nearest_rank({}, 0.5) is None
    assert nearest_rank({10: 1}, 0.9) == 10
    assert nearest_rank({1: 5, 2: 4, 100: 1}, 0.5) == 1 and nearest_rank({1: 5, 2: 4, 100: 1}, 0.9) == 2
    assert nearest_rank({1: 5, 2: 4, 100: 1}, 0.91) == 100


def test_the_dashboard_shows_the_turnaround_panel_to_those_who_see_testing(client, scene, make_user):
    cache.clear()
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    page = client.get("/").content.decode()
    assert 'data-testid="turnaround-panel"' in page and 'data-testid="turnaround-chart"' in page
    assert f'data-round="{scene["round"].pk}"' in page and "50.0%" in page
    assert 'id="turnaround-data"' in page
    client.force_login(make_user(Role.CHECKPOINT_STAFF, "a"))
    assert 'data-testid="turnaround-panel"' not in client.get("/").content.decode()


def test_the_dashboards_figures_are_cached_until_a_tube_is_added(scene, make_user, tree):
    cache.clear()
    user = make_user(Role.COUNTY_HQ, "county")
    first = turnaround(user)
    assert turnaround(user) is not first and turnaround(user) == first  # served from the cache
    Tube.objects.filter(round=scene["round"]).update(resulted_at=None)
    assert turnaround(user).rounds[0].to_result.reached == 5  # cached: same tubes
    tube(scene["round"], where=site(tree, "a"), laboratory=scene["first"], opened=timezone.now())
    assert turnaround(user).rounds[0].to_result.reached == 0  # a new tube: recomputed
    cache.clear()
