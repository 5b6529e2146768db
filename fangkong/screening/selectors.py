"""Reads of the ledger, scoped: work lists, overdue lists and the "nobody missed" report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from fangkong.core.models import Division, User
from fangkong.core.scope import get_scoped, scoped
from fangkong.screening.models import OPEN_STATES, CloseReason, LoopState, PoolEntry, PoolEvent, RiskReport

S = LoopState
PAST_LOCATED = [S.LOCATED, S.TESTED, S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.RELEASED]
PAST_TESTED = [S.TESTED, S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.RELEASED]
QUARANTINED = [S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.RELEASED]

# The report's columns: each a filter on entries, used for the counts and for the drill-down to names.
COLUMNS: dict[str, Q] = {
    "listed": ~Q(close_reason=CloseReason.DUPLICATE),
    "located": Q(state__in=PAST_LOCATED),
    "tested": Q(state__in=PAST_TESTED),
    "quarantined": Q(state__in=QUARANTINED),
    "unlocated": Q(is_unlocated=True, state__in=OPEN_STATES),
    "closed": Q(state=S.CLOSED),
}


def overdue_q(now: datetime) -> Q:
    """Open entries past a deadline: not located by locate_due, or not tested by test_due."""
    return Q(state__in=OPEN_STATES) & (
        Q(state=S.LISTED, locate_due__lt=now) | (Q(state__in=[S.LISTED, S.LOCATED]) & Q(test_due__lt=now))
    )


def entries_in_scope(user: User) -> QuerySet[PoolEntry]:
    return scoped(PoolEntry.objects.all(), user)


def work_list(user: User, *, show: str = "open", now: datetime | None = None) -> QuerySet[PoolEntry]:
    """A community worker's people with what is due, most urgent first."""
    now = now or timezone.now()
    entries = entries_in_scope(user).select_related("person", "division")
    if show == "overdue":
        entries = entries.filter(overdue_q(now))
    elif show == "unlocated":
        entries = entries.filter(COLUMNS["unlocated"])
    elif show == "all":
        pass
    else:
        entries = entries.filter(state__in=[S.LISTED, S.LOCATED])
    return entries.annotate(attempt_count=Count("attempts")).order_by("locate_due", "id")


def access_entry(user: User, entry_id: int) -> PoolEntry:
    return get_scoped(PoolEntry.objects.select_related("person", "division"), user, pk=entry_id)


def events_of(entry: PoolEntry) -> QuerySet[PoolEvent]:
    return entry.events.select_related("by").all()


def reports_of(entry: PoolEntry) -> QuerySet[RiskReport]:
    return entry.reports.all()


@dataclass(frozen=True)
class ReportRow:
    division: Division
    counts: dict[str, int]


def nobody_missed(user: User, *, parent: str = "", now: datetime | None = None) -> list[ReportRow]:
    """Per child of the chosen node (default: the user's jurisdiction): listed, located, tested, quarantined,
    overdue, unlocated, closed. One grouped query over the path prefix."""
    now = now or timezone.now()
    root = get_scoped(Division.objects.all(), user, path=parent) if parent else user.division
    if root is None:
        return []
    children = list(root.children.order_by("path"))
    if not children:
        children = [root]
    width = len(children[0].path)
    aggregates = {name: Count("id", filter=q) for name, q in COLUMNS.items()}
    aggregates["overdue"] = Count("id", filter=overdue_q(now))
    rows = (
        entries_in_scope(user)
        .filter(division__path__startswith=root.path)
        .annotate(child=Substr("division_id", 1, width))
        .values("child")
        .annotate(**aggregates)
    )
    by_child: dict[str, dict[str, int]] = {
        str(row["child"]): {k: int(str(v)) for k, v in row.items() if k != "child"} for row in rows
    }
    empty = dict.fromkeys([*COLUMNS, "overdue"], 0)
    return [ReportRow(division=child, counts=by_child.get(child.path, empty)) for child in children]


def drill_down(user: User, *, division: str, column: str, now: datetime | None = None) -> QuerySet[PoolEntry]:
    """The names behind one cell of the report."""
    now = now or timezone.now()
    q = overdue_q(now) if column == "overdue" else COLUMNS.get(column, Q())
    return (
        entries_in_scope(user)
        .filter(division__path__startswith=division)
        .filter(q)
        .select_related("person", "division")
        .order_by("division_id", "locate_due")
    )


def community_by_path(path: str) -> Division | None:
    """A community anywhere in the city (a person found at another address is handed over to it)."""
    return Division.objects.filter(path=path, level="community").first()
