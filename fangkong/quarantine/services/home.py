"""Home quarantine and home health monitoring, managed by the community: daily check-ins by community workers
(door visit, phone, video, door sensor), violations recorded, and the test days of those at home.

Who may act: people in home quarantine belong to their community (`Placement.division`); people released from a
site into home health monitoring were handed over to their home community (`ReleaseCertificate.home_division`),
whose workers check on them too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import NotFoundError, PermissionDeniedError
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope, scoped
from fangkong.quarantine.models import (
    AlertKind,
    CheckInMethod,
    HomeCheckIn,
    Placement,
    PlacementKind,
    PlacementStatus,
    ReleaseCertificate,
    ScheduledTest,
    TestPhase,
    TestStatus,
    Violation,
    ViolationKind,
)
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode
from fangkong.quarantine.services.common import require
from fangkong.quarantine.services.monitoring import is_abnormal, parse_symptoms, parse_temperature, raise_alert


def _in_home_care(placement: Placement, *, on: date) -> bool:
    if placement.kind == PlacementKind.HOME and placement.status == PlacementStatus.PLACED:
        return True
    return placement.status == PlacementStatus.RELEASED and placement.monitoring_end >= on


def require_home_care(user: User | None, placement: Placement) -> None:
    """The community's worker (home quarantine: the placement's own jurisdiction; health monitoring after a
    site: the home community it was handed over to)."""
    require(user, Capability.QUARANTINE_WORK)
    if user is None:
        return
    if not (is_in_scope(placement.division_id, user) or is_in_scope(placement.home_division_id, user)):
        raise PermissionDeniedError()


@transaction.atomic
def record_check_in(
    placement: Placement,
    *,
    by: User,
    method: str = CheckInMethod.VISIT,
    is_at_home: bool = True,
    temperature: str = "",
    symptoms: Iterable[str] = (),
    note: str = "",
    now: datetime | None = None,
) -> HomeCheckIn:
    """A community worker's daily check. Not at home → a violation is recorded; a fever or symptoms → an alert
    and a fever test, as in a site."""
    require_home_care(by, placement)
    now = now or timezone.now()
    on = timezone.localdate(now)
    if not _in_home_care(placement, on=on):
        raise CareError(
            _("This person is not in home quarantine or home health monitoring."),
            code=CareErrorCode.NOT_IN_CARE,
            field="placement",
        )
    if method not in CheckInMethod.values:
        raise CareError(_("Choose how the check was made."), code=CareErrorCode.INVALID, field="method")
    value = parse_temperature(temperature) if temperature.strip() else None
    chosen = parse_symptoms(symptoms)
    check_in = HomeCheckIn.objects.create(
        placement=placement,
        on=on,
        checked_at=now,
        method=method,
        is_at_home=is_at_home,
        temperature=value,
        symptoms=chosen,
        note=note[:300],
        by=by,
    )
    audit.record(
        "quarantine.home.check_in",
        by=by,
        target=check_in,
        division_path=placement.division_id,
        changes={"method": [None, method], "is_at_home": [None, is_at_home], "temperature": [None, temperature]},
    )
    if not is_at_home:
        record_violation(
            placement, kind=ViolationKind.LEFT_HOME, by=by, description=note, occurred_at=now, action_taken=""
        )
    edition = active_edition(placement.division_id)
    if (value is not None and is_abnormal(value, chosen, edition)) or (value is None and chosen):
        fever = value is not None and float(value) >= edition.quarantine_monitoring.fever_threshold_celsius
        raise_alert(
            placement,
            kind=AlertKind.FEVER if fever else AlertKind.SYMPTOMS,
            by=by,
            note=f"{value or ''} {' '.join(chosen)}".strip(),
        )
    return check_in


@transaction.atomic
def record_violation(
    placement: Placement,
    *,
    kind: str,
    by: User,
    description: str = "",
    action_taken: str = "",
    occurred_at: datetime | None = None,
) -> Violation:
    require_home_care(by, placement)
    if kind not in ViolationKind.values:
        raise CareError(_("Choose what happened."), code=CareErrorCode.INVALID, field="kind")
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now():
        raise CareError(_("A violation cannot be in the future."), code=CareErrorCode.INVALID, field="occurred_at")
    violation = Violation.objects.create(
        placement=placement,
        kind=kind,
        occurred_at=occurred_at,
        description=description[:500],
        action_taken=action_taken[:300],
        recorded_by=by,
    )
    audit.record(
        "quarantine.home.violation",
        by=by,
        target=violation,
        division_path=placement.division_id,
        changes={"kind": [None, kind]},
        reason=description[:200],
    )
    return violation


# ----------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class HomeRow:
    placement: Placement
    phase: str  # "quarantine" (home quarantine) | "monitoring" (after a site)
    checked_today: bool
    tests_today: list[ScheduledTest]
    violations: int


def handed_over_placements(user: User) -> QuerySet[Placement]:
    """Placements whose certificate hands the person to the user's community (same prefix rule as core.scope)."""
    path = getattr(user, "scope_path", None) if getattr(user, "is_authenticated", False) else None
    if not path or not getattr(user, "is_active", False):
        return Placement.objects.none()
    certificates = ReleaseCertificate.objects.filter(home_division__path__startswith=path)
    return Placement.objects.filter(pk__in=certificates.values("placement_id"))


def access_home_placement(user: User, placement_id: int, *, on: date) -> Placement:
    found = (
        (scoped(Placement.objects.all(), user) | handed_over_placements(user))
        .filter(pk=placement_id)
        .select_related("person")
        .first()
    )
    if found is None:
        raise NotFoundError()
    return found


def home_care_list(user: User, *, on: date) -> list[HomeRow]:
    """Everyone the user's communities look after at home today: home quarantine, then health monitoring."""
    home = scoped(
        Placement.objects.filter(kind=PlacementKind.HOME, status=PlacementStatus.PLACED), user
    ).select_related("person")
    monitoring = (
        handed_over_placements(user)
        .filter(status=PlacementStatus.RELEASED, monitoring_end__gte=on)
        .select_related("person")
    )
    placements = list(home.order_by("person__name")) + list(monitoring.order_by("monitoring_end"))
    ids = [p.pk for p in placements]
    checked = set(HomeCheckIn.objects.filter(placement__in=ids, on=on).values_list("placement_id", flat=True))
    tests: dict[int, list[ScheduledTest]] = {}
    for test in ScheduledTest.objects.filter(
        placement__in=ids, due_on__lte=on, status__in=(TestStatus.DUE, TestStatus.MISSED)
    ).order_by("due_on"):
        tests.setdefault(test.placement_id, []).append(test)
    violations: dict[int, int] = {}
    for placement_id in Violation.objects.filter(placement__in=ids).values_list("placement_id", flat=True):
        violations[placement_id] = violations.get(placement_id, 0) + 1
    return [
        HomeRow(
            placement=p,
            phase=TestPhase.QUARANTINE if p.status == PlacementStatus.PLACED else TestPhase.MONITORING,
            checked_today=p.pk in checked,
            tests_today=tests.get(p.pk, []),
            violations=violations.get(p.pk, 0),
        )
        for p in placements
    ]
