"""Release from quarantine: refused before eligibility (eligibility.py: days served and required negatives), the
release certificate (解除隔离告知书), and the handover to the home community for home health monitoring — the
ledger entry moves to health monitoring (or to released when the edition sets no monitoring), and the community
acknowledges the handover. Every step is audited."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import NotFoundError
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.core.scope import scoped
from fangkong.quarantine.eligibility import Blocker, Eligibility
from fangkong.quarantine.models import (
    Placement,
    PlacementStatus,
    ReleaseCertificate,
    ScheduledTest,
    TestPhase,
    TestStatus,
)
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode, require_work
from fangkong.quarantine.services.common import require
from fangkong.quarantine.services.placement import vacate
from fangkong.screening import services as screening

BLOCKER_TEXT = {
    Blocker.NOT_ACTIVE: _("the person is not in quarantine"),
    Blocker.TOO_EARLY: _("%(served)s of %(required)s days served (release on %(end)s)"),
    Blocker.TESTS_OUTSTANDING: _("tests not yet negative on days %(days)s"),
    Blocker.POSITIVE: _("a positive result"),
    Blocker.SECOND_REAGENT: _("the last test day needs negatives with two different reagents"),
}


def reasons(placement: Placement, result: Eligibility) -> list[dict[str, str]]:
    """Why a placement may not be released yet, one item per blocker: `code` (an `eligibility.Blocker`) and
    `message`; empty when it may."""
    values = {
        "served": result.days_served,
        "required": result.days_required,
        "end": placement.quarantine_end.isoformat(),
        "days": ", ".join(str(day) for day in result.outstanding_days),
    }
    return [
        {"field": "placement", "code": str(blocker), "message": str(BLOCKER_TEXT[blocker]) % values}
        for blocker in result.blockers
    ]


def explain(placement: Placement, result: Eligibility) -> str:
    """Why a placement may not be released yet, in one sentence."""
    return "; ".join(item["message"] for item in reasons(placement, result))


def _number(on: date) -> str:
    return f"JG{on:%Y%m%d}-{secrets.token_hex(3).upper()}"


@transaction.atomic
def release_placement(
    placement: Placement, *, by: User | None, on: date | None = None, now: datetime | None = None
) -> ReleaseCertificate:
    """Release a person whose quarantine has run its course with every required test negative, issue the
    certificate and hand them over to their home community. Refused clearly (which days, which tests) before."""
    require_work(by, placement.division_id)
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    placement = (
        Placement.objects.select_for_update(of=("self",)).select_related("person", "home_division").get(pk=placement.pk)
    )
    if placement.status == PlacementStatus.RELEASED:
        raise CareError(_("This person has already been released."), code=CareErrorCode.NOT_ELIGIBLE, field="placement")
    result = placement.release_eligibility(on=on)
    if not result.is_eligible:
        raise CareError(
            _("Not eligible for release yet: %(why)s.") % {"why": explain(placement, result)},
            code=CareErrorCode.NOT_ELIGIBLE,
            field="placement",
            details=reasons(placement, result),
        )
    certificate = ReleaseCertificate.objects.create(
        placement=placement,
        number=_number(on),
        edition_id=placement.edition_id,
        released_on=on,
        days_served=result.days_served,
        negative_tests=result.negatives,
        monitoring_until=max(placement.monitoring_end, on),
        home_division_id=placement.home_division_id,
        issued_at=now,
        issued_by=by if by is not None and by.pk else None,
    )
    old = placement.status
    placement.status, placement.released_at = PlacementStatus.RELEASED, now
    placement.save(update_fields=["status", "released_at"])
    vacate(placement, by=by, at=now)
    monitoring = certificate.monitoring_until > on
    if not monitoring:  # nothing left to do at home: monitoring tests are not owed
        ScheduledTest.objects.filter(placement=placement, phase=TestPhase.MONITORING, status=TestStatus.DUE).update(
            status=TestStatus.CANCELLED
        )
    note = str(certificate.number)
    if monitoring:
        screening.record_health_monitoring(placement.person, by=by, note=note)
    else:
        screening.record_released(placement.person, by=by, note=note)
    audit.record(
        "quarantine.placement.release",
        by=by,
        target=placement,
        division_path=placement.division_id,
        changes={
            "status": [old, PlacementStatus.RELEASED],
            "certificate": [None, certificate.number],
            "days_served": [None, result.days_served],
            "negative_tests": [None, result.negatives],
            "monitoring_until": [None, certificate.monitoring_until.isoformat()],
            "handed_over_to": [None, placement.home_division_id],
        },
    )
    return certificate


@transaction.atomic
def acknowledge_handover(certificate: ReleaseCertificate, *, by: User) -> ReleaseCertificate:
    """The home community confirms it has taken over the person's home health monitoring."""
    require(by, Capability.QUARANTINE_WORK)
    if not handed_over_to_me(by).filter(pk=certificate.pk).exists():
        raise NotFoundError()  # outside the community it was handed over to
    certificate = ReleaseCertificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.handover_acknowledged_at is None:
        certificate.handover_acknowledged_at, certificate.handover_acknowledged_by = timezone.now(), by
        certificate.save(update_fields=["handover_acknowledged_at", "handover_acknowledged_by"])
        audit.record(
            "quarantine.release.handover",
            by=by,
            target=certificate,
            division_path=certificate.home_division_id,
            changes={"handover_acknowledged_at": [None, certificate.handover_acknowledged_at.isoformat()]},
        )
    return certificate


# ----------------------------------------------------------------------------------------------- reads


def releasable(user: User, *, on: date, site_id: int | None = None) -> list[tuple[Placement, Eligibility]]:
    """People in quarantine whose quarantine ends by `on`, with their eligibility (eligible first)."""
    placements = scoped(
        Placement.objects.filter(status=PlacementStatus.PLACED, quarantine_end__lte=on), user
    ).select_related("person", "site", "room")
    if site_id is not None:
        placements = placements.filter(site_id=site_id)
    rows = [(p, p.release_eligibility(on=on)) for p in placements.prefetch_related("tests").order_by("quarantine_end")]
    return sorted(rows, key=lambda row: (not row[1].is_eligible, row[0].quarantine_end))


def access_certificate(user: User, certificate_id: int) -> ReleaseCertificate:
    """A certificate the user's jurisdiction issued (the site's) or received (the home community's)."""
    issued = scoped(ReleaseCertificate.objects.all(), user).filter(pk=certificate_id)
    received = handed_over_to_me(user).filter(pk=certificate_id)
    found = (issued | received).select_related("placement__person", "placement__site", "home_division").first()
    if found is None:
        raise NotFoundError()
    return found


def handed_over_to_me(user: User) -> QuerySet[ReleaseCertificate]:
    """Certificates handed over to the user's community for home health monitoring. The handover's scope is the
    home community (`home_division`), not the issuing site's jurisdiction; the same rule as core.scope."""
    path = getattr(user, "scope_path", None) if getattr(user, "is_authenticated", False) else None
    if not path or not getattr(user, "is_active", False):
        return ReleaseCertificate.objects.none()
    return ReleaseCertificate.objects.filter(home_division__path__startswith=path)


def in_health_monitoring(user: User, *, on: date) -> QuerySet[ReleaseCertificate]:
    return (
        handed_over_to_me(user)
        .filter(monitoring_until__gte=on, placement__status=PlacementStatus.RELEASED)
        .select_related("placement__person", "placement__site")
        .order_by("monitoring_until")
    )
