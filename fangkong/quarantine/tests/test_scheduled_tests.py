"""Test days by policy edition, today's list and overdue tests, results, a positive result, and release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.errors import NotFoundError, PermissionDeniedError
from fangkong.core.models import AuditEntry, User
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.notify.models import Message
from fangkong.quarantine.models import (
    AlertKind,
    EndReason,
    HospitalTransfer,
    MonitoringAlert,
    Placement,
    PlacementStatus,
    ReleaseCertificate,
    Room,
    RoomStatus,
    ScheduledTest,
    TransferStatus,
)
from fangkong.quarantine.models import TestKind as Kind
from fangkong.quarantine.models import TestPhase as Phase
from fangkong.quarantine.models import TestStatus as Status
from fangkong.quarantine.services import monitoring, release, scheduled_tests
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode
from fangkong.quarantine.tests.care_world import day, floor_of, place, ready_site
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.tracing.models import Case


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def site(hq, tree):
    return ready_site(hq, tree["street"])


@pytest.fixture
def staff(make_user):
    return make_user(Role.QUARANTINE_SITE_MANAGER, "street")


def quarantine_tests(placement):
    return list(
        ScheduledTest.objects.filter(placement=placement, kind=Kind.SCHEDULED).values_list(
            "phase", "day_number", "due_on"
        )
    )


def work_all(placement, staff, *, until_day=None):
    """Negative results for every quarantine test (two reagents on the last day where the edition asks)."""
    for test in ScheduledTest.objects.filter(placement=placement, phase=Phase.QUARANTINE).order_by("day_number"):
        if until_day is not None and test.day_number > until_day:
            continue
        scheduled_tests.record_result(test, result="negative", reagent="试剂A", second_reagent="试剂B", by=staff)


# ------------------------------------------------------------------------------------ edition switch


def test_switching_to_the_9th_edition_changes_new_placements_only(hq, register, site, tree):
    before = place(hq, register, site)[0]
    set_active_edition(tree["city"], edition_id="ed9", overrides={}, by=hq)
    after = place(hq, register, site)[0]
    start = timezone.localdate() - timedelta(days=3)
    before.refresh_from_db()
    assert (before.edition_id, before.quarantine_end, before.monitoring_end) == (
        "ed8",
        start + timedelta(days=14),
        start + timedelta(days=21),
    )
    assert [d for _, d, _ in quarantine_tests(before)] == [1, 4, 7, 14, 16, 21]
    assert (after.edition_id, after.quarantine_end, after.monitoring_end) == (
        "ed9",
        start + timedelta(days=7),
        start + timedelta(days=10),
    )
    assert quarantine_tests(after) == [
        *[(Phase.QUARANTINE, d, start + timedelta(days=d)) for d in (1, 2, 3, 5, 7)],
        (Phase.MONITORING, 10, start + timedelta(days=10)),
    ]
    # The existing placement keeps its terms and its tests after the switch.
    assert before.can_release(on=start + timedelta(days=7)) is False
    assert before.release_eligibility(on=start + timedelta(days=7)).days_required == 14


# --------------------------------------------------------------------------------- lists and results


def test_todays_list_and_overdue_items(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=4)[0]  # day 4 today; day 1 was three days ago
    today = timezone.localdate()
    assert [t.day_number for t in scheduled_tests.day_test_list(staff, on=today, site_id=None)] == [4]
    assert scheduled_tests.mark_missed_tests(today) == 1
    overdue = list(scheduled_tests.overdue_tests(staff, on=today, site_id=site.pk))
    assert [(t.day_number, t.status) for t in overdue] == [(1, Status.MISSED)]
    # A missed test can still be worked (taken late); it then leaves the overdue list.
    scheduled_tests.record_sample(overdue[0], by=staff)
    scheduled_tests.record_result(overdue[0], result="negative", reagent="A", by=staff)
    assert not scheduled_tests.overdue_tests(staff, on=today, site_id=None).exists()
    assert scheduled_tests.mark_missed_tests(today) == 0  # nothing more, and safe to repeat
    assert placement.tests.get(day_number=1).resulted_at is not None


def test_a_result_must_be_negative_or_positive_and_is_recorded_once(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=1)[0]
    test = placement.tests.get(day_number=1)
    with pytest.raises(CareError) as caught:
        scheduled_tests.record_result(test, result="maybe", by=staff)
    assert caught.value.field == "result"
    scheduled_tests.record_result(test, result="negative", reagent="A", by=staff)
    with pytest.raises(CareError) as caught:
        scheduled_tests.record_result(test, result="negative", reagent="A", by=staff)
    assert caught.value.code == CareErrorCode.TEST_STATE


def test_the_8th_edition_needs_two_reagents_on_the_last_test_day(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=14)[0]
    last = placement.tests.get(day_number=14, phase=Phase.QUARANTINE)
    with pytest.raises(CareError) as caught:
        scheduled_tests.record_result(last, result="negative", reagent="A", second_reagent="a", by=staff)
    assert (caught.value.code, caught.value.field) == (CareErrorCode.REAGENT, "second_reagent")
    scheduled_tests.record_result(last, result="negative", reagent="A", second_reagent="B", by=staff)
    assert sorted(placement.tests.filter(day_number=14).values_list("kind", "reagent")) == [
        (Kind.EXTRA, "B"),
        (Kind.SCHEDULED, "A"),
    ]


def test_staff_outside_the_jurisdiction_cannot_record_results(hq, register, site, make_user):
    placement = place(hq, register, site, days_ago=1)[0]
    outsider = make_user(Role.QUARANTINE_SITE_MANAGER, "c")
    with pytest.raises(PermissionDeniedError):
        scheduled_tests.record_result(placement.tests.get(day_number=1), result="positive", by=outsider)
    assert not Case.objects.exists()


def test_a_positive_result_makes_a_case_ends_quarantine_and_requests_a_transfer(hq, register, site, staff):
    placement, neighbour = place(hq, register, site, days_ago=4, n=2)
    room = placement.room
    outcome = scheduled_tests.record_result(placement.tests.get(day_number=4), result="positive", by=staff)
    placement.refresh_from_db()
    case = Case.objects.get(person=placement.person)
    assert outcome.case == case and case.kind == "asymptomatic"
    assert (placement.status, placement.end_reason) == (PlacementStatus.TRANSFERRED, EndReason.BECAME_CASE)
    assert PoolEntry.objects.get(person=placement.person).state == LoopState.CLOSED
    assert Room.objects.get(pk=room.pk).status == RoomStatus.CLEANING
    transfer = HospitalTransfer.objects.get(placement=placement)
    assert (transfer.status, transfer.case_number) == (TransferStatus.REQUESTED, case.number)
    assert not placement.tests.filter(status=Status.DUE).exists()  # the rest are cancelled
    assert MonitoringAlert.objects.filter(placement=placement, kind=AlertKind.POSITIVE).exists()
    assert AuditEntry.objects.filter(action="quarantine.placement.became_case").exists()
    neighbour.refresh_from_db()
    assert neighbour.status == PlacementStatus.PLACED
    scheduled_tests.advance_transfer(transfer, status="en_route", by=staff)
    transfer = scheduled_tests.advance_transfer(transfer, status="admitted", hospital="市第一人民医院", by=staff)
    assert transfer.admitted_at is not None
    with pytest.raises(CareError):
        scheduled_tests.advance_transfer(transfer, status="en_route", by=staff)


def test_the_fever_workflow_test_negative_closes_the_alert_and_positive_makes_a_confirmed_case(
    hq, register, site, staff
):
    first, second = place(hq, register, site, days_ago=5, n=2)
    rows = [
        monitoring.ReadingRow(placement_id=first.pk, temperature="38.0"),
        monitoring.ReadingRow(placement_id=second.pk, temperature="37.9"),
    ]
    monitoring.record_floor_readings(floor_of(first), on=timezone.localdate(), slot="morning", rows=rows, by=staff)
    fever_tests = {t.placement_id: t for t in ScheduledTest.objects.filter(kind=Kind.FEVER)}
    assert [t.due_on for t in fever_tests.values()] == [timezone.localdate()] * 2
    scheduled_tests.record_result(fever_tests[first.pk], result="negative", reagent="A", by=staff)
    assert MonitoringAlert.objects.get(placement=first).status == "closed"
    scheduled_tests.record_result(fever_tests[second.pk], result="positive", by=staff)
    assert Case.objects.get(person=second.person).kind == "confirmed"


# ---------------------------------------------------------------------------------------------- release


def test_release_before_eligibility_is_refused_clearly(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=10)[0]
    work_all(placement, staff, until_day=7)
    before = AuditEntry.objects.count()
    with pytest.raises(CareError) as caught:
        release.release_placement(placement, by=staff)
    message = str(caught.value.message)
    assert caught.value.code == CareErrorCode.NOT_ELIGIBLE
    assert "10 of 14 days served" in message and "days 14" in message
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.PLACED and not ReleaseCertificate.objects.exists()
    assert AuditEntry.objects.count() == before


def test_release_is_refused_while_a_test_is_missing_even_after_the_days(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=14)[0]
    work_all(placement, staff, until_day=7)
    assert placement.can_release(on=timezone.localdate()) is False
    with pytest.raises(CareError, match="days 14"):
        release.release_placement(placement, by=staff)


def test_release_issues_a_certificate_and_hands_over_to_the_home_community(hq, register, site, staff, make_user):
    placement = place(hq, register, site, days_ago=14)[0]
    room = placement.room
    work_all(placement, staff)
    assert Placement.objects.get(pk=placement.pk).can_release(on=timezone.localdate())
    certificate = release.release_placement(placement, by=staff)
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.RELEASED
    assert (certificate.days_served, certificate.negative_tests, certificate.edition_id) == (14, 5, "ed8")
    assert certificate.monitoring_until == placement.monitoring_end == day(7)
    assert certificate.home_division_id == placement.person.home_division_id
    assert PoolEntry.objects.get(person=placement.person).state == LoopState.HEALTH_MONITORING
    assert Room.objects.get(pk=room.pk).status == RoomStatus.CLEANING
    assert AuditEntry.objects.filter(action="quarantine.placement.release", target_id=str(placement.pk)).exists()
    # The home community sees the handover and takes it over; the monitoring tests stay due for them.
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    assert list(release.in_health_monitoring(worker, on=timezone.localdate())) == [certificate]
    release.acknowledge_handover(certificate, by=worker)
    certificate.refresh_from_db()
    assert certificate.handover_acknowledged_by == worker
    monitoring_test = placement.tests.get(phase=Phase.MONITORING, day_number=16)
    scheduled_tests.record_result(monitoring_test, result="negative", reagent="A", by=worker)
    # Another community cannot take over someone handed to community A.
    with pytest.raises(NotFoundError):
        release.acknowledge_handover(certificate, by=make_user(Role.COMMUNITY_WORKER, "b"))
    with pytest.raises(CareError):
        release.release_placement(placement, by=staff)  # already released


def test_no_home_monitoring_means_the_loop_closes_on_release(hq, register, site, staff, tree):
    set_active_edition(
        tree["city"],
        edition_id="ed8",
        overrides={"close_contact.home_monitoring_days": 0, "close_contact.home_monitoring_test_days": []},
        by=hq,
    )
    placement = place(hq, register, site, days_ago=14)[0]
    work_all(placement, staff)
    release.release_placement(placement, by=staff)
    assert PoolEntry.objects.get(person=placement.person).state == LoopState.RELEASED


def test_alert_sms_go_to_the_sites_medical_staff_only(hq, register, site, staff):
    placement = place(hq, register, site, days_ago=2)[0]
    monitoring.record_floor_readings(
        floor_of(placement),
        on=timezone.localdate(),
        slot="morning",
        rows=[monitoring.ReadingRow(placement_id=placement.pk, temperature="39.0")],
        by=staff,
    )
    assert list(Message.objects.values_list("template", "to_masked")) == [("quarantine_alert", "135****0001")]
