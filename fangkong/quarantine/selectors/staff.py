"""Reads for site staff: members, closed-loop periods, who is in the loop on a day and which daily tests and
health checks are still missing, and who left the loop early."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from fangkong.core.models import User
from fangkong.core.scope import get_scoped
from fangkong.quarantine.models import Site, StaffCheck, StaffCheckKind, StaffMember, StaffRoster


def access_staff(user: User, staff_id: int) -> StaffMember:
    return get_scoped(StaffMember.objects.select_related("site"), user, pk=staff_id)


def access_roster(user: User, roster_id: int) -> StaffRoster:
    return get_scoped(StaffRoster.objects.select_related("site", "staff"), user, pk=roster_id)


def staff_of(site: Site) -> QuerySet[StaffMember]:
    return site.staff.filter(is_active=True).order_by("role", "name")


def rosters_of(site: Site) -> QuerySet[StaffRoster]:
    return site.rosters.select_related("staff").order_by("-loop_start", "staff__name")


def in_loop_q(on: date) -> Q:
    """Rosters whose staff member is inside the loop on `on` (started, not past the end, not left before)."""
    return Q(loop_start__lte=on, loop_end__gte=on) & (Q(left_at__isnull=True) | Q(left_at__date__gte=on))


@dataclass(frozen=True)
class DailyChecks:
    roster: StaffRoster
    test: StaffCheck | None
    health: StaffCheck | None

    @property
    def is_complete(self) -> bool:
        return self.test is not None and self.health is not None


def daily_checks(site: Site, *, on: date) -> list[DailyChecks]:
    """Everyone in the loop on `on` with that day's test and health check (None = missing); two queries."""
    rosters = list(site.rosters.filter(in_loop_q(on)).select_related("staff").order_by("staff__role", "staff__name"))
    checks = {
        (check.roster_id, check.kind): check
        for check in StaffCheck.objects.filter(roster__in=rosters, on=on).select_related("recorded_by")
    }
    return [
        DailyChecks(
            roster=roster,
            test=checks.get((roster.pk, StaffCheckKind.TEST)),
            health=checks.get((roster.pk, StaffCheckKind.HEALTH)),
        )
        for roster in rosters
    ]


def left_early(site: Site) -> QuerySet[StaffRoster]:
    return site.rosters.filter(left_early=True).select_related("staff").order_by("-left_at")
