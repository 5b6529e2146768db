"""Home quarantine and home health monitoring: community check-ins, violations, fever at home, who may act."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fangkong.core.errors import NotFoundError, PermissionDeniedError
from fangkong.core.models import AuditEntry, User
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.notify.models import Message
from fangkong.quarantine.models import AlertKind, MonitoringAlert, PlacementKind, ScheduledTest, Violation
from fangkong.quarantine.models import TestKind as Kind
from fangkong.quarantine.services import home, release
from fangkong.quarantine.services.care_errors import CareError
from fangkong.quarantine.services.placement import PlacementRequest, place_contacts
from fangkong.quarantine.tests.care_world import listed, place, ready_site
from fangkong.quarantine.tests.test_scheduled_tests import work_all


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def at_home(hq, register, tree):
    set_active_edition(tree["city"], edition_id="ed9", overrides={}, by=hq)  # secondary contacts: home quarantine
    placement = place_contacts([PlacementRequest(entry=listed(register, "a", "secondary_contact"))], by=hq).home[0]
    assert placement.kind == PlacementKind.HOME and placement.division_id == tree["a"].path
    return placement


def test_a_community_worker_checks_in_daily_and_records_violations(at_home, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    check_in = home.record_check_in(at_home, by=worker, method="door_sensor", temperature="36.6")
    assert (check_in.on, check_in.is_at_home) == (timezone.localdate(), True)
    home.record_check_in(at_home, by=worker, method="visit", is_at_home=False, note="敲门无人")
    assert list(Violation.objects.values_list("kind", flat=True)) == ["left_home"]
    home.record_violation(at_home, kind="visitor", description="亲戚来访", action_taken="劝离", by=worker)
    assert AuditEntry.objects.filter(action="quarantine.home.violation").count() == 2
    rows = home.home_care_list(worker, on=timezone.localdate())
    assert [(r.placement.pk, r.checked_today, r.violations) for r in rows] == [(at_home.pk, True, 2)]
    with pytest.raises(CareError):
        home.record_violation(at_home, kind="partying", by=worker)
    with pytest.raises(CareError):
        home.record_check_in(at_home, by=worker, temperature="60")


def test_a_fever_at_home_raises_an_alert_and_a_test(at_home, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    home.record_check_in(at_home, by=worker, temperature="37.6", symptoms=["cough"])
    alert = MonitoringAlert.objects.get(placement=at_home)
    assert alert.kind == AlertKind.FEVER
    assert ScheduledTest.objects.filter(placement=at_home, kind=Kind.FEVER, due_on=timezone.localdate()).exists()
    assert not Message.objects.exists()  # no site staff: the community follows up from its alert list


def test_another_community_cannot_check_on_the_person(at_home, make_user):
    with pytest.raises(PermissionDeniedError):
        home.record_check_in(at_home, by=make_user(Role.COMMUNITY_WORKER, "b"))
    with pytest.raises(NotFoundError):
        home.access_home_placement(make_user(Role.COMMUNITY_WORKER, "b"), at_home.pk, on=timezone.localdate())


def test_after_release_the_home_community_checks_on_health_monitoring(hq, register, tree, make_user):
    site = ready_site(hq, tree["county2"], name="西工区隔离点")  # the site is in another county
    placement = place(hq, register, site, days_ago=14)[0]
    staff = make_user(Role.QUARANTINE_SITE_MANAGER, "county2")
    work_all(placement, staff)
    release.release_placement(placement, by=staff)
    worker = make_user(Role.COMMUNITY_WORKER, "a")  # the person's home community
    found = home.access_home_placement(worker, placement.pk, on=timezone.localdate())
    rows = home.home_care_list(worker, on=timezone.localdate())
    assert [(r.placement.pk, r.phase) for r in rows] == [(placement.pk, "monitoring")]
    home.record_check_in(found, by=worker, method="phone", temperature="36.5")
    with pytest.raises(PermissionDeniedError):
        home.record_check_in(found, by=make_user(Role.COMMUNITY_WORKER, "b"))
