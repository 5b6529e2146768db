"""The tests a placement owes: today's list per site, missed tests as overdue items, samples and results, and what
a positive result sets off — the person becomes a case (tracing.register_case, which also closes their ledger
entry), their quarantine ends, the room is vacated for disinfection, and a hospital transfer is requested.

The ScheduledTest rows are created at placement from the frozen terms (placement service, via
`schedule.due_tests`); the fever workflow adds a fever test (services.monitoring.raise_alert).

Tests are recorded here, on the ScheduledTest row: the testing app books and records mass-testing rounds and
pooled tubes, and has no single-person test booking for a quarantine site yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import NotFoundError
from fangkong.core.models import User
from fangkong.core.scope import scoped
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    OPEN_TRANSFER_STATUSES,
    AlertKind,
    AlertStatus,
    EndReason,
    HospitalTransfer,
    MonitoringAlert,
    Placement,
    PlacementStatus,
    Reading,
    ScheduledTest,
    TestKind,
    TestPhase,
    TestResult,
    TestStatus,
    TransferStatus,
)
from fangkong.quarantine.services import home
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode, require_work
from fangkong.quarantine.services.monitoring import raise_alert
from fangkong.quarantine.services.placement import vacate
from fangkong.tracing import services as tracing
from fangkong.tracing.models import Case, CaseKind

OPEN_TEST_STATUSES = (TestStatus.DUE, TestStatus.MISSED)


# ----------------------------------------------------------------------------------------------- reads


def _care_tests(user: User) -> QuerySet[ScheduledTest]:
    return scoped(ScheduledTest.objects.all(), user).select_related(
        "placement__person", "placement__room", "placement__site"
    )


def day_test_list(user: User, *, on: date, site_id: int | None = None) -> QuerySet[ScheduledTest]:
    """A site's test list for a day: quarantine tests due that day (still to do, or done that day), of people
    in quarantine now."""
    tests = _care_tests(user).filter(
        placement__status__in=ACTIVE_PLACEMENT_STATUSES, phase=TestPhase.QUARANTINE, due_on=on
    )
    if site_id is not None:
        tests = tests.filter(placement__site_id=site_id)
    return tests.exclude(status=TestStatus.CANCELLED).order_by("placement__site__name", "placement__room__number")


def overdue_tests(user: User, *, on: date, site_id: int | None = None) -> QuerySet[ScheduledTest]:
    """Tests of people in quarantine that were due before `on` and were not done (missed): work them today."""
    tests = _care_tests(user).filter(
        placement__status__in=ACTIVE_PLACEMENT_STATUSES, status__in=OPEN_TEST_STATUSES, due_on__lt=on
    )
    if site_id is not None:
        tests = tests.filter(placement__site_id=site_id)
    return tests.order_by("due_on", "placement__room__number")


def access_test(user: User, test_id: int) -> ScheduledTest:
    """A test of a placement in the user's jurisdiction, or of someone handed over to their community."""
    found = _care_tests(user).filter(pk=test_id).first()
    if found is None:
        handed_over = home.handed_over_placements(user)
        found = ScheduledTest.objects.filter(pk=test_id, placement__in=handed_over).select_related("placement").first()
    if found is None:
        raise NotFoundError()
    return found


def _require_test_work(user: User | None, test: ScheduledTest) -> None:
    if test.phase == TestPhase.MONITORING and test.placement.status == PlacementStatus.RELEASED:
        home.require_home_care(user, test.placement)
    else:
        require_work(user, test.placement.division_id)


def needs_second_reagent(test: ScheduledTest) -> bool:
    """The edition asks for two reagents before release and this is the last quarantine test day."""
    placement = test.placement
    if test.phase != TestPhase.QUARANTINE or not placement.test_days:
        return False
    return test.day_number == max(int(day) for day in placement.test_days) and placement.release_needs_two_reagents


# --------------------------------------------------------------------------------------------- changes


def mark_missed_tests(today: date | None = None) -> int:
    """Tests still due after their day become missed (overdue items). Safe to run any number of times."""
    today = today or timezone.localdate()
    return ScheduledTest.objects.filter(status=TestStatus.DUE, due_on__lt=today).update(status=TestStatus.MISSED)


def _check_open(test: ScheduledTest) -> None:
    if test.status not in OPEN_TEST_STATUSES:
        raise CareError(_("This test is already done or cancelled."), code=CareErrorCode.TEST_STATE, field="test")
    in_care = test.placement.status in ACTIVE_PLACEMENT_STATUSES or (
        test.phase == TestPhase.MONITORING and test.placement.status == PlacementStatus.RELEASED
    )
    if not in_care:
        raise CareError(_("This person is no longer in quarantine."), code=CareErrorCode.TEST_STATE, field="test")


@transaction.atomic
def record_sample(test: ScheduledTest, *, by: User | None, at: datetime | None = None) -> ScheduledTest:
    """The swab was taken (the result follows)."""
    _require_test_work(by, test)
    test = ScheduledTest.objects.select_for_update(of=("self",)).select_related("placement").get(pk=test.pk)
    _check_open(test)
    at = at or timezone.now()
    old = test.sampled_at
    test.sampled_at = at
    test.recorded_by = by if by is not None and by.pk else None
    test.save(update_fields=["sampled_at", "recorded_by"])
    audit.record(
        "quarantine.test.sample",
        by=by,
        target=test,
        division_path=test.placement.division_id,
        changes={"sampled_at": [old.isoformat() if old else None, at.isoformat()]},
    )
    return test


@dataclass(frozen=True)
class ResultOutcome:
    test: ScheduledTest
    case: Case | None = None
    transfer: HospitalTransfer | None = None


@transaction.atomic
def record_result(
    test: ScheduledTest,
    *,
    result: str,
    by: User | None,
    reagent: str = "",
    second_reagent: str = "",
    at: datetime | None = None,
) -> ResultOutcome:
    """Record a result. Negative: the test is done (with a second reagent where the edition asks for two on the
    last day, the second swab is recorded as an extra test the same day). Positive: see `_became_case`."""
    _require_test_work(by, test)
    test = ScheduledTest.objects.select_for_update(of=("self",)).select_related("placement__person").get(pk=test.pk)
    _check_open(test)
    if result not in (TestResult.NEGATIVE, TestResult.POSITIVE):
        raise CareError(_("Choose negative or positive."), code=CareErrorCode.RESULT, field="result")
    reagent, second_reagent = reagent.strip(), second_reagent.strip()
    if result == TestResult.NEGATIVE and needs_second_reagent(test):
        if not reagent or not second_reagent or reagent.lower() == second_reagent.lower():
            raise CareError(
                _("The policy edition asks for two swabs with two different reagents on the last test day."),
                code=CareErrorCode.REAGENT,
                field="second_reagent",
            )
    at = at or timezone.now()
    test.status, test.result, test.reagent = TestStatus.DONE, result, reagent[:60]
    test.sampled_at = test.sampled_at or at
    test.resulted_at = at
    test.recorded_by = by if by is not None and by.pk else None
    test.save(update_fields=["status", "result", "reagent", "sampled_at", "resulted_at", "recorded_by"])
    placement = test.placement
    audit.record(
        "quarantine.test.result",
        by=by,
        target=test,
        division_path=placement.division_id,
        changes={"status": [TestStatus.DUE, TestStatus.DONE], "result": ["", result], "reagent": ["", reagent]},
    )
    if result == TestResult.NEGATIVE:
        if second_reagent and needs_second_reagent(test):
            extra = ScheduledTest.objects.create(
                placement=placement,
                kind=TestKind.EXTRA,
                phase=test.phase,
                day_number=test.day_number,
                due_on=test.due_on,
                status=TestStatus.DONE,
                result=TestResult.NEGATIVE,
                reagent=second_reagent[:60],
                sampled_at=test.sampled_at,
                resulted_at=at,
                recorded_by=test.recorded_by,
            )
            audit.record(
                "quarantine.test.result",
                by=by,
                target=extra,
                division_path=placement.division_id,
                changes={"result": ["", TestResult.NEGATIVE], "reagent": ["", second_reagent]},
                reason="second reagent",
            )
        if test.kind == TestKind.FEVER:
            _close_fever_alerts(test, by=by, at=at)
        return ResultOutcome(test=test)
    case, transfer = _became_case(placement, test=test, by=by, at=at)
    return ResultOutcome(test=test, case=case, transfer=transfer)


def _close_fever_alerts(test: ScheduledTest, *, by: User | None, at: datetime) -> None:
    MonitoringAlert.objects.filter(test=test).exclude(status=AlertStatus.CLOSED).update(
        status=AlertStatus.CLOSED, closed_at=at, note=str(_("Fever test negative"))
    )


def _case_kind(placement: Placement, *, at: datetime) -> str:
    """Provisional classification for the case registry: confirmed when the person had an abnormal reading (fever
    or symptoms) in the last days of monitoring, otherwise an asymptomatic infection; clinicians may revise."""
    since = timezone.localdate(at) - timedelta(days=7)
    symptomatic = Reading.objects.filter(placement=placement, is_abnormal=True, on__gte=since).exists()
    return CaseKind.CONFIRMED if symptomatic else CaseKind.ASYMPTOMATIC


def _became_case(
    placement: Placement, *, test: ScheduledTest, by: User | None, at: datetime
) -> tuple[Case, HospitalTransfer]:
    placement = (
        Placement.objects.select_for_update(of=("self",)).select_related("person", "site", "room").get(pk=placement.pk)
    )
    existing = Case.objects.filter(person=placement.person).first()
    # The case is registered by the system on the strength of the recorded result: site staff record results
    # but do not register cases themselves (TRACING_WORK); the audit rows above and below name who recorded it.
    case = existing or tracing.register_case(
        placement.person, kind=_case_kind(placement, at=at), first_positive_at=test.sampled_at or at, by=None
    )
    old_status = placement.status
    placement.status, placement.end_reason, placement.ended_at = PlacementStatus.TRANSFERRED, EndReason.BECAME_CASE, at
    placement.save(update_fields=["status", "end_reason", "ended_at"])
    ScheduledTest.objects.filter(placement=placement, status__in=OPEN_TEST_STATUSES).update(status=TestStatus.CANCELLED)
    vacate(placement, by=by, at=at)
    transfer = HospitalTransfer.objects.create(
        placement=placement, case_number=case.number, requested_at=at, requested_by=by if by and by.pk else None
    )
    audit.record(
        "quarantine.placement.became_case",
        by=by,
        target=placement,
        division_path=placement.division_id,
        changes={
            "status": [old_status, PlacementStatus.TRANSFERRED],
            "end_reason": ["", EndReason.BECAME_CASE],
            "case": [None, case.number],
            "transfer": [None, transfer.pk],
        },
    )
    raise_alert(placement, kind=AlertKind.POSITIVE, by=by, note=case.number)
    return case, transfer


def open_transfers(user: User) -> QuerySet[HospitalTransfer]:
    return scoped(HospitalTransfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES), user).select_related(
        "placement__person", "placement__site", "placement__room"
    )


@transaction.atomic
def advance_transfer(transfer: HospitalTransfer, *, status: str, by: User, hospital: str = "") -> HospitalTransfer:
    """The transfer's next step: en route (vehicle left), admitted (at the designated hospital), or cancelled."""
    require_work(by, transfer.placement.division_id)
    transfer = HospitalTransfer.objects.select_for_update().get(pk=transfer.pk)
    allowed: dict[str, set[str]] = {
        TransferStatus.REQUESTED: {TransferStatus.EN_ROUTE, TransferStatus.CANCELLED},
        TransferStatus.EN_ROUTE: {TransferStatus.ADMITTED},
    }
    if status not in allowed.get(transfer.status, set()):
        raise CareError(_("This transfer cannot move to that step."), code=CareErrorCode.INVALID, field="status")
    old = transfer.status
    now = timezone.now()
    transfer.status = status
    if status == TransferStatus.EN_ROUTE:
        transfer.departed_at = now
    if status == TransferStatus.ADMITTED:
        transfer.admitted_at = now
    if hospital:
        transfer.hospital = hospital[:100]
    transfer.save()
    audit.record(
        "quarantine.transfer." + status,
        by=by,
        target=transfer,
        division_path=transfer.placement.division_id,
        changes={"status": [old, status], "hospital": [None, transfer.hospital or None]},
    )
    return transfer
