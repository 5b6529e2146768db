"""REST endpoints of quarantine care (mounted with the quarantine API at /api/quarantine/): a floor's
monitoring readings, a site's test list and test results, release eligibility and release. As thin as the
views: parse, call a selector or a service; phones are masked; refusals are the services' errors as 4xx JSON
(`code`, `message`, `field`, and `row`/`details` for rows)."""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from fangkong.core.api_access import api_requires
from fangkong.core.editions import quarantine_day
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.quarantine.api_common import ERRORS, documented_body, json_body
from fangkong.quarantine.models import ReleaseCertificate, ScheduledTest
from fangkong.quarantine.selectors import placement as placement_selectors
from fangkong.quarantine.selectors import sites as site_selectors
from fangkong.quarantine.services import monitoring, release, scheduled_tests

router = Router(tags=["quarantine"])


# ------------------------------------------------------------------------------------- monitoring readings


class FloorRowOut(Schema):
    placement_id: int
    room: str
    name: str
    phone_masked: str
    day: int = Field(description="day of quarantine on `on` (day 0 = last exposure)")
    temperature: str | None = Field(description="°C, one decimal; None: not recorded yet")
    symptoms: list[str]
    is_abnormal: bool | None


class FloorReadingsOut(Schema):
    floor_id: int
    site_id: int
    on: date
    slot: str
    rows: list[FloorRowOut]


class ReadingIn(Schema):
    placement_id: int
    temperature: str | float = Field(
        "", description="°C with at most one decimal (36.6); blank: not taken yet, skipped"
    )
    symptoms: list[str] = Field(
        default_factory=list, description="codes: cough, sore_throat, fatigue, muscle_ache, short_of_breath, …"
    )


class ReadingsIn(Schema):
    slot: str = Field(description="morning / afternoon (the edition's two check-in times)")
    on: date | None = Field(None, description="default today; never a future day")
    readings: list[ReadingIn]


class AlertOut(Schema):
    id: int
    placement_id: int
    kind: str
    test_id: int | None


class FloorEntryOut(Schema):
    saved: int
    skipped: int
    alerts: list[AlertOut]


@router.get("/floors/{floor_id}/readings", response={200: FloorReadingsOut, **ERRORS})
@api_requires(Capability.QUARANTINE_VIEW)
def floor_readings(request: HttpRequest, floor_id: int, on: date | None = None, slot: str = "") -> dict[str, Any]:
    """Everyone in quarantine on a floor, by room, with their reading for `on` (default today) and `slot` (default
    the check-in whose time has come): the list a floor's readings are entered against."""
    floor = site_selectors.access_floor(request.user, floor_id)  # type: ignore[arg-type]
    site = floor.building.site
    on = on or timezone.localdate()
    slot = slot if slot in monitoring.SLOTS else monitoring.current_slot(active_edition(site.division_id))
    saved = monitoring.readings_for(floor, on=on, slot=slot)
    rows = []
    for placement in monitoring.floor_placements(floor):
        reading = saved.get(placement.pk)
        rows.append(
            {
                "placement_id": placement.pk,
                "room": placement.room.number if placement.room else "",
                "name": placement.person.name,
                "phone_masked": placement.person.masked_phone,
                "day": quarantine_day(placement.start_date, on),
                "temperature": str(reading.temperature) if reading else None,
                "symptoms": list(reading.symptoms) if reading else [],
                "is_abnormal": reading.is_abnormal if reading else None,
            }
        )
    return {"floor_id": floor.pk, "site_id": site.pk, "on": on, "slot": slot, "rows": rows}


@router.post(
    "/floors/{floor_id}/readings",
    response={200: FloorEntryOut, **ERRORS},
    openapi_extra=documented_body(ReadingsIn),
)
@api_requires(Capability.QUARANTINE_WORK)
def record_floor_readings(request: HttpRequest, floor_id: int) -> monitoring.FloorEntry:
    """A floor's readings, all or nothing: every row is checked first; any bad row (60 °C, "abc", 36.55, someone
    not on the floor) refuses the whole submission with 400 naming the first bad row (`row`, from 1, and `field`)
    and every bad row in `details` (row, room, field, code, message); nothing is saved. Sending the same readings
    again corrects them (a correction alerts only when it becomes abnormal)."""
    floor = site_selectors.access_floor(request.user, floor_id)  # type: ignore[arg-type]
    payload = json_body(request, ReadingsIn)
    rows = [
        monitoring.ReadingRow(
            placement_id=item.placement_id, temperature=str(item.temperature), symptoms=tuple(item.symptoms)
        )
        for item in payload.readings
    ]
    return monitoring.record_floor_readings(
        floor,
        on=payload.on or timezone.localdate(),
        slot=payload.slot,
        rows=rows,
        by=request.user,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------------------ scheduled tests


class ScheduledTestOut(Schema):
    id: int
    placement_id: int
    name: str
    phone_masked: str
    site_id: int | None
    room: str | None
    kind: str = Field(description="scheduled / fever / extra")
    phase: str = Field(description="quarantine / monitoring")
    day_number: int
    due_on: date
    status: str = Field(description="due / done / missed / cancelled")
    result: str
    reagent: str
    sampled_at: datetime | None
    resulted_at: datetime | None
    needs_second_reagent: bool

    @staticmethod
    def resolve_name(test: ScheduledTest) -> str:
        return test.placement.person.name

    @staticmethod
    def resolve_phone_masked(test: ScheduledTest) -> str:
        return test.placement.person.masked_phone

    @staticmethod
    def resolve_site_id(test: ScheduledTest) -> int | None:
        return test.placement.site_id

    @staticmethod
    def resolve_room(test: ScheduledTest) -> str | None:
        return test.placement.room.number if test.placement.room else None

    @staticmethod
    def resolve_needs_second_reagent(test: ScheduledTest) -> bool:
        return scheduled_tests.needs_second_reagent(test)


class SiteTestsOut(Schema):
    site_id: int
    on: date
    due: list[ScheduledTestOut] = Field(description="quarantine tests due on `on` (still to do, or done that day)")
    overdue: list[ScheduledTestOut] = Field(description="due before `on` and not done")


class ResultIn(Schema):
    result: str = Field(description="negative / positive")
    reagent: str = ""
    second_reagent: str = Field("", description="where the edition asks for two reagents on the last test day")


class ResultOut(Schema):
    test: ScheduledTestOut
    case_number: str | None = Field(description="positive: the case registered")
    transfer_id: int | None = Field(description="positive: the hospital transfer requested")


@router.get("/sites/{site_id}/tests", response={200: SiteTestsOut, **ERRORS})
@api_requires(Capability.QUARANTINE_VIEW)
def site_tests(request: HttpRequest, site_id: int, on: date | None = None) -> dict[str, Any]:
    """A site's test list for `on` (default today), and the overdue tests to work the same day."""
    user = request.user
    site = site_selectors.access_site(user, site_id)  # type: ignore[arg-type]
    on = on or timezone.localdate()
    return {
        "site_id": site.pk,
        "on": on,
        "due": list(scheduled_tests.day_test_list(user, on=on, site_id=site.pk)),  # type: ignore[arg-type]
        "overdue": list(scheduled_tests.overdue_tests(user, on=on, site_id=site.pk)),  # type: ignore[arg-type]
    }


@router.post("/tests/{test_id}/result", response={200: ResultOut, **ERRORS}, openapi_extra=documented_body(ResultIn))
@api_requires(Capability.QUARANTINE_WORK)
def record_test_result(request: HttpRequest, test_id: int) -> dict[str, Any]:
    """Record a due or missed test's result. Negative: done (a negative fever test closes its alerts). Positive:
    the person becomes a case, their quarantine ends, the room is vacated and a hospital transfer is requested.
    Refusals: 400 with `code` (test_state: already done or cancelled; result; reagent) and `field`."""
    user = request.user
    test = scheduled_tests.access_test(user, test_id)  # type: ignore[arg-type]
    payload = json_body(request, ResultIn)
    outcome = scheduled_tests.record_result(
        test,
        result=payload.result,
        reagent=payload.reagent,
        second_reagent=payload.second_reagent,
        by=user,  # type: ignore[arg-type]
    )
    return {
        "test": scheduled_tests.access_test(user, outcome.test.pk),  # type: ignore[arg-type]
        "case_number": outcome.case.number if outcome.case else None,
        "transfer_id": outcome.transfer.pk if outcome.transfer else None,
    }


# ---------------------------------------------------------------------------------------------------- release


class BlockerOut(Schema):
    code: str = Field(description="too_early / tests_outstanding / positive / second_reagent / not_active")
    message: str


class EligibilityOut(Schema):
    placement_id: int
    on: date
    eligible: bool
    days_served: int
    days_required: int
    negatives: int
    negatives_required: int
    outstanding_days: list[int]
    blockers: list[BlockerOut]
    reason: str = Field(description="the blockers in one sentence; empty when eligible")


class CertificateOut(Schema):
    id: int
    number: str
    placement_id: int
    edition_id: str
    released_on: date
    days_served: int
    negative_tests: int
    monitoring_until: date
    home_division: str
    issued_at: datetime

    @staticmethod
    def resolve_home_division(certificate: ReleaseCertificate) -> str:
        return certificate.home_division_id


@router.get("/placements/{placement_id}/release", response={200: EligibilityOut, **ERRORS})
@api_requires(Capability.QUARANTINE_VIEW)
def release_eligibility(request: HttpRequest, placement_id: int, on: date | None = None) -> dict[str, Any]:
    """Whether the placement may be released on `on` (default today), and if not, why: days served against the
    frozen end, test days not yet negative, a positive, the second reagent."""
    placement = placement_selectors.access_placement(request.user, placement_id)  # type: ignore[arg-type]
    on = on or timezone.localdate()
    result = placement.release_eligibility(on=on)
    blockers = release.reasons(placement, result)
    return {
        "placement_id": placement.pk,
        "on": on,
        "eligible": result.is_eligible,
        "days_served": result.days_served,
        "days_required": result.days_required,
        "negatives": result.negatives,
        "negatives_required": result.negatives_required,
        "outstanding_days": list(result.outstanding_days),
        "blockers": blockers,
        "reason": "; ".join(item["message"] for item in blockers),
    }


@router.post("/placements/{placement_id}/release", response={201: CertificateOut, **ERRORS})
@api_requires(Capability.QUARANTINE_WORK)
def release_placement(request: HttpRequest, placement_id: int) -> Status:
    """Release the person and issue the certificate; the ledger moves to home health monitoring. Before
    eligibility: 400 with code `not_eligible`, field `placement`, the reason in `message` and one item per
    blocker in `details` (`code`, `message`)."""
    placement = placement_selectors.access_placement(request.user, placement_id)  # type: ignore[arg-type]
    return Status(201, release.release_placement(placement, by=request.user))  # type: ignore[arg-type]
