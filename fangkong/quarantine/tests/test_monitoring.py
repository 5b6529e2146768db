"""Twice-daily monitoring: a floor's readings in one submission, self-report links, non-reporting, alerts."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.notify.models import Message
from fangkong.quarantine.models import (
    AlertKind,
    MonitoringAlert,
    Reading,
    ReadingSlot,
    ReadingSource,
    ScheduledTest,
)
from fangkong.quarantine.models import (
    TestKind as Kind,
)
from fangkong.quarantine.models import (
    TestStatus as Status,
)
from fangkong.quarantine.services import monitoring
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode
from fangkong.quarantine.services.monitoring import ReadingRow
from fangkong.quarantine.tests.care_world import floor_of, place, ready_site


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def floor_world(hq, register, tree, make_user):
    site = ready_site(hq, tree["street"])
    placements = place(hq, register, site, n=3)
    staff = make_user(Role.QUARANTINE_SITE_MANAGER, "street")
    return site, floor_of(placements[0]), placements, staff


def rows(placements, *temperatures, symptoms=()):
    return [
        ReadingRow(placement_id=p.pk, temperature=t, symptoms=tuple(symptoms) if i == 0 else ())
        for i, (p, t) in enumerate(zip(placements, temperatures, strict=True))
    ]


def test_a_floor_is_entered_in_one_submission(floor_world):
    _site, floor, placements, staff = floor_world
    result = monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot=ReadingSlot.MORNING, rows=rows(placements, "36.5", "36,8", ""), by=staff
    )
    assert (result.saved, result.skipped, result.alerts) == (2, 1, [])
    saved = dict(Reading.objects.values_list("placement_id", "temperature"))
    assert saved == {placements[0].pk: Decimal("36.5"), placements[1].pk: Decimal("36.8")}
    assert AuditEntry.objects.filter(action="quarantine.reading.record").count() == 2


@pytest.mark.parametrize(("typed", "expected"), [("60", "60 °C"), ("3.65", "3.65"), ("abc", "abc"), ("36.55", "36.55")])
def test_an_implausible_or_malformed_reading_is_refused_naming_row_and_room_and_nothing_is_saved(
    floor_world, typed, expected
):
    _site, floor, placements, staff = floor_world
    before = AuditEntry.objects.count()
    with pytest.raises(CareError) as caught:
        monitoring.record_floor_readings(
            floor, on=timezone.localdate(), slot="morning", rows=rows(placements, "36.5", typed, "36.6"), by=staff
        )
    error = caught.value
    assert (error.row, error.field, error.code) == (2, "temperature", CareErrorCode.TEMPERATURE)
    room = placements[1].room.number
    assert f"room {room}" in str(error.message) and "Nothing was saved" in str(error.message)
    assert expected in str(error.message)
    assert error.details[0]["room"] == room
    assert Reading.objects.count() == 0 and AuditEntry.objects.count() == before


def test_a_person_not_on_the_floor_is_refused(floor_world, hq, register, tree):
    _site, floor, placements, staff = floor_world
    other_site = ready_site(hq, tree["street"], name="二号隔离点", medic=False)
    elsewhere = place(hq, register, other_site)[0]
    with pytest.raises(CareError) as caught:
        monitoring.record_floor_readings(
            floor, on=timezone.localdate(), slot="morning", rows=rows([elsewhere], "36.5"), by=staff
        )
    assert (caught.value.row, caught.value.field) == (1, "placement")


def test_a_fever_raises_an_alert_to_medical_staff_and_books_a_test_now(floor_world):
    _site, floor, placements, staff = floor_world
    result = monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot="morning", rows=rows(placements, "37.3", "36.5", "36.4"), by=staff
    )
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert (alert.kind, alert.placement_id) == (AlertKind.FEVER, placements[0].pk)
    test = ScheduledTest.objects.get(kind=Kind.FEVER)
    assert (test.placement_id, test.due_on, test.status) == (placements[0].pk, timezone.localdate(), Status.DUE)
    assert alert.test == test
    message = Message.objects.get(template="quarantine_alert")
    assert message.to_masked == "135****0001"
    # The same reading entered again (a corrected form re-submitted) raises nothing new.
    monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot="morning", rows=rows(placements, "37.3", "36.5", "36.4"), by=staff
    )
    assert MonitoringAlert.objects.count() == 1 and ScheduledTest.objects.filter(kind=Kind.FEVER).count() == 1


def test_symptoms_without_fever_raise_a_symptoms_alert(floor_world):
    _site, floor, placements, staff = floor_world
    result = monitoring.record_floor_readings(
        floor,
        on=timezone.localdate(),
        slot="afternoon",
        rows=rows(placements[:1], "36.6", symptoms=["cough"]),
        by=staff,
    )
    assert [a.kind for a in result.alerts] == [AlertKind.SYMPTOMS]


def test_the_fever_line_comes_from_the_edition(floor_world, hq, tree):
    from fangkong.core.policy import set_active_edition

    _site, floor, placements, staff = floor_world
    set_active_edition(
        tree["city"], edition_id="ed8", overrides={"quarantine_monitoring": {"fever_threshold_celsius": 37.0}}, by=hq
    )
    result = monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot="morning", rows=rows(placements[:1], "37.1"), by=staff
    )
    assert len(result.alerts) == 1


def test_staff_of_another_jurisdiction_cannot_enter_readings(floor_world, make_user):
    _site, floor, placements, _staff = floor_world
    from fangkong.core.errors import PermissionDeniedError

    outsider = make_user(Role.QUARANTINE_SITE_MANAGER, "c")
    with pytest.raises(PermissionDeniedError):
        monitoring.record_floor_readings(
            floor, on=timezone.localdate(), slot="morning", rows=rows(placements[:1], "36.5"), by=outsider
        )


# --------------------------------------------------------------------------------------- self-report


def _at(clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hours, minutes)))


def test_check_in_links_are_sent_once_per_slot_and_not_to_those_who_reported(floor_world, settings):
    settings.FANGKONG_PUBLIC_URL = "https://fk.example"
    _site, floor, placements, staff = floor_world
    Reading.objects.all().delete()
    monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot="morning", rows=rows(placements[:1], "36.5"), by=staff
    )
    assert monitoring.send_check_in_links(_at("07:59")) == 0  # before the check-in time
    assert monitoring.send_check_in_links(_at("08:05")) == 2  # the two who have not reported
    monitoring.send_check_in_links(_at("08:30"))  # a second run sends nothing new
    messages = Message.objects.filter(template="quarantine_check_in")
    assert messages.count() == 2
    assert monitoring.send_check_in_links(_at("10:30")) == 0  # the reporting window has closed


def test_a_resident_reports_through_the_signed_link_once(floor_world):
    _site, _floor, placements, _staff = floor_world
    token = monitoring.report_token(placements[0], on=timezone.localdate(), slot="morning")
    link = monitoring.open_report_link(token)
    reading, alert = monitoring.record_self_report(link, temperature="38.2", symptoms=["fatigue"])
    assert (reading.source, reading.is_abnormal, alert.kind) == (ReadingSource.SELF_REPORT, True, AlertKind.FEVER)
    with pytest.raises(CareError) as caught:
        monitoring.record_self_report(link, temperature="36.5", symptoms=[])
    assert caught.value.code == CareErrorCode.ALREADY_REPORTED


def test_a_forged_or_implausible_self_report_is_refused(floor_world):
    _site, _floor, placements, _staff = floor_world
    token = monitoring.report_token(placements[0], on=timezone.localdate(), slot="morning")
    with pytest.raises(CareError) as caught:
        monitoring.open_report_link(token[:-2] + "xx")
    assert caught.value.code == CareErrorCode.LINK_INVALID
    with pytest.raises(CareError) as caught:
        monitoring.record_self_report(monitoring.open_report_link(token), temperature="60", symptoms=[])
    assert caught.value.field == "temperature"
    assert not Reading.objects.exists()


def test_whoever_has_not_reported_by_the_deadline_is_listed(floor_world, hq):
    _site, floor, placements, staff = floor_world
    from fangkong.quarantine.models import Placement

    Placement.objects.filter(pk__in=[p.pk for p in placements]).update(placed_at=_at("06:00"))
    monitoring.record_floor_readings(
        floor, on=timezone.localdate(), slot="morning", rows=rows(placements[:1], "36.5"), by=staff
    )
    assert monitoring.non_reporting(staff, now=_at("09:59")) == []  # deadline 10:00 (08:00 + 120 min)
    missing = monitoring.non_reporting(staff, now=_at("10:01"))
    assert sorted(m.placement.pk for m in missing) == sorted(p.pk for p in placements[1:])
    assert {m.slot for m in missing} == {"morning"}
    assert len(monitoring.non_reporting(staff, now=_at("17:01"))) == 5  # afternoon for all three too
    assert monitoring.non_reporting(hq, now=_at("10:01"), site_id=placements[0].site_id + 999) == []


def test_check_in_times_and_slots_follow_the_edition(floor_world):
    from fangkong.core.editions import load_edition

    edition = load_edition("ed9")
    assert monitoring.check_in_times(edition) == {"morning": time(8, 0), "afternoon": time(15, 0)}
    assert monitoring.current_slot(edition, _at("16:00")) == "afternoon"
    assert monitoring.current_slot(edition, _at("07:00") + timedelta(hours=2)) == "morning"
