"""Site staff in a closed loop (闭环管理): members, closed-loop periods with the rest period after them (from
the policy edition's high-risk-post rules), daily tests and health checks while in the loop, and leaving the
loop — early departures are flagged."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.editions import quarantine_date
from fangkong.core.masking import mask_phone
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.quarantine.models import (
    Site,
    StaffCheck,
    StaffCheckKind,
    StaffCheckResult,
    StaffMember,
    StaffRole,
    StaffRoster,
)
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    checked_temperature,
    require,
    require_in_scope,
)

RESULTS_BY_KIND: dict[str, tuple[str, ...]] = {
    StaffCheckKind.TEST: (StaffCheckResult.PENDING, StaffCheckResult.NEGATIVE, StaffCheckResult.POSITIVE),
    StaffCheckKind.HEALTH: (StaffCheckResult.NORMAL, StaffCheckResult.ABNORMAL),
}


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


@transaction.atomic
def add_staff_member(
    site: Site, *, name: str, role: str, by: User | None, phone: str = "", user: User | None = None
) -> StaffMember:
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(site.division_id, by)
    name = name.strip()
    if not name:
        raise QuarantineError(_("Give the staff member's name."), field="name")
    if role not in StaffRole.values:
        raise QuarantineError(_("Unknown staff role."), field="role")
    if phone and not (phone.isdigit() and len(phone) == 11):
        raise QuarantineError(_("Enter an 11-digit mobile number."), field="phone")
    member = StaffMember.objects.create(site=site, name=name[:100], role=role, phone=phone, user=user)
    audit.record(
        "quarantine.staff.add",
        by=by,
        target=member,
        division_path=site.division_id,
        changes={"name": [None, member.name], "role": [None, role], "phone": [None, mask_phone(phone)]},
    )
    return member


@transaction.atomic
def start_roster(staff: StaffMember, *, loop_start: date, loop_end: date, by: User | None) -> StaffRoster:
    """A closed-loop period; the rest period after it (`rest_until`) comes from the edition in force at the
    site: `[high_risk_posts] after_post_days` after the last day in the loop."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(staff.site.division_id, by)
    if loop_end < loop_start:
        raise QuarantineError(_("The loop cannot end before it starts."), field="loop_end")
    staff = StaffMember.objects.select_for_update().get(pk=staff.pk)
    overlapping = StaffRoster.objects.filter(
        staff=staff, loop_start__lte=loop_end, loop_end__gte=loop_start, left_at__isnull=True
    ).exists()
    if overlapping:
        raise QuarantineError(
            _("This staff member already has a closed-loop period at that time."),
            code=QuarantineErrorCode.INVALID,
            field="loop_start",
        )
    edition = active_edition(staff.site.division_id)
    roster = StaffRoster.objects.create(
        staff=staff,
        site=staff.site,
        loop_start=loop_start,
        loop_end=loop_end,
        rest_until=quarantine_date(loop_end, edition.high_risk_posts.after_post_days),
        edition_id=edition.id,
        created_by=by if by is not None and by.pk else None,
    )
    audit.record(
        "quarantine.staff.roster",
        by=by,
        target=roster,
        division_path=staff.site.division_id,
        changes={
            "loop": [None, [loop_start.isoformat(), loop_end.isoformat()]],
            "rest_until": [None, roster.rest_until.isoformat()],
        },
    )
    return roster


def last_day_in_loop(roster: StaffRoster) -> date:
    return min(roster.loop_end, _local_date(roster.left_at)) if roster.left_at else roster.loop_end


@transaction.atomic
def record_staff_check(
    roster: StaffRoster,
    *,
    on: date,
    kind: str,
    result: str,
    by: User | None,
    temperature: object = None,
    note: str = "",
) -> StaffCheck:
    """Record (or correct) the day's test or health check of a staff member in the loop."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(roster.site.division_id, by)
    if kind not in RESULTS_BY_KIND:
        raise QuarantineError(_("Unknown check."), field="kind")
    if result not in RESULTS_BY_KIND[kind]:
        raise QuarantineError(_("This result does not fit the check."), field="result")
    if not roster.loop_start <= on <= last_day_in_loop(roster):
        raise QuarantineError(
            _("%(day)s is outside this closed-loop period.") % {"day": on.isoformat()},
            code=QuarantineErrorCode.OUTSIDE_LOOP,
            field="on",
        )
    value: Decimal | None = None
    if temperature not in (None, ""):
        value = checked_temperature(temperature)
    check, created = StaffCheck.objects.update_or_create(
        roster=roster,
        on=on,
        kind=kind,
        defaults={
            "result": result,
            "temperature": value,
            "note": note[:300],
            "recorded_by": by if by is not None and by.pk else None,
        },
    )
    audit.record(
        "quarantine.staff.check",
        by=by,
        target=check,
        division_path=roster.site.division_id,
        changes={"day": [None, on.isoformat()], "kind": [None, kind], "result": [None, result]},
        reason="" if created else "corrected",
    )
    return check


@transaction.atomic
def record_left_loop(
    roster: StaffRoster, *, by: User | None, reason: str = "", at: datetime | None = None
) -> StaffRoster:
    """The staff member left the loop: before `loop_end` they are flagged as leaving early; the rest period
    is counted from the day they left."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(roster.site.division_id, by)
    roster = StaffRoster.objects.select_for_update().get(pk=roster.pk)
    if roster.left_at is not None:
        raise QuarantineError(_("The departure is already recorded."), code=QuarantineErrorCode.INVALID, field="at")
    at = at or timezone.now()
    day = _local_date(at)
    if day < roster.loop_start:
        raise QuarantineError(_("The loop had not started yet."), code=QuarantineErrorCode.OUTSIDE_LOOP, field="at")
    edition = active_edition(roster.site.division_id)
    left_early = day < roster.loop_end
    if left_early and not reason.strip():
        raise QuarantineError(_("Give the reason for leaving the loop early."), field="reason")
    old_rest = roster.rest_until
    roster.left_at = at
    roster.left_early = left_early
    roster.left_reason = reason[:300]
    if left_early:
        roster.rest_until = quarantine_date(day, edition.high_risk_posts.after_post_days)
    roster.save(update_fields=["left_at", "left_early", "left_reason", "rest_until"])
    audit.record(
        "quarantine.staff.left_loop",
        by=by,
        target=roster,
        division_path=roster.site.division_id,
        changes={
            "left_at": [None, at.isoformat()],
            "left_early": [False, left_early],
            "rest_until": [old_rest.isoformat(), roster.rest_until.isoformat()],
        },
        reason=reason,
    )
    return roster
