"""Reads for self-reports: the public page's list of communities (names only) and the staff list, scoped."""

from __future__ import annotations

from django.db.models import QuerySet

from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.scope import scoped
from fangkong.screening.models import SelfReport

CommunityChoices = list[tuple[str, list[tuple[str, str]]]]


def community_choices() -> CommunityChoices:
    """Every village and community, grouped under 'county · street', for the public page's select.

    Names of places only: the page is public. One query."""
    groups: dict[str, list[tuple[str, str]]] = {}
    communities = (
        Division.objects.filter(level=DivisionLevel.COMMUNITY)
        .select_related("parent__parent")
        .order_by("path")
        .only("path", "name", "parent__name", "parent__parent__name")
    )
    for community in communities:
        street = community.parent
        county = street.parent if street is not None else None
        label = " · ".join(node.name for node in (county, street) if node is not None)
        groups.setdefault(label, []).append((community.path, community.name))
    return list(groups.items())


def community(path: str) -> Division | None:
    """A village or community by its path (for a poster's preselection); None if there is none."""
    if not path:
        return None
    return Division.objects.filter(path=path, level=DivisionLevel.COMMUNITY).first()


def self_reports(user: User) -> QuerySet[SelfReport]:
    """The self-reports of the user's jurisdiction, newest first."""
    return scoped(SelfReport.objects.select_related("person", "division", "entry"), user).order_by("-created_at")
