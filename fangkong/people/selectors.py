"""Every read of the person registry, already scoped to the user's jurisdiction."""

from __future__ import annotations

import re

from django.db.models import Count, Q, QuerySet

from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.scope import get_scoped, scoped
from fangkong.core.text import normalize_text
from fangkong.people.models import MergeCandidate, MergeStatus, Person, PersonSource

_MASKED_ID = re.compile(r"^(?P<head>[0-9]{0,17})[*＊]+(?P<tail>[0-9Xx]{0,4})$")
_FULL_ID = re.compile(r"^[0-9]{17}[0-9Xx]$")
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
_TAIL = re.compile(r"^[0-9]{4}$")


def people_in_scope(user: User) -> QuerySet[Person]:
    return scoped(Person.objects.filter(merged_into__isnull=True), user)


def search_people(user: User, *, query: str = "", division: str = "") -> QuerySet[Person]:
    """Search by name (or pinyin), masked ID ('410302********123X', or a head and/or tail around stars),
    full ID, full mobile, mobile tail (4 digits), within a community or street of the user's scope."""
    people = people_in_scope(user).select_related("home_division")
    if division:
        people = people.filter(home_division__path__startswith=division)
    text = normalize_text(query).strip().replace(" ", "")
    if not text:
        return people
    if masked := _MASKED_ID.match(text):
        head, tail = masked["head"], masked["tail"].upper()
        return people.filter(primary_document_number__startswith=head, primary_document_number__endswith=tail)
    if _FULL_ID.match(text):
        return people.filter(documents__number=text.upper()).distinct()
    if _PHONE.match(text):
        return people.filter(phone=text)
    if _TAIL.match(text):
        return people.filter(phone_tail=text)
    return people.filter(Q(name__contains=text) | Q(pinyin__icontains=text))


def access_person(user: User, person_id: int) -> Person:
    return get_scoped(Person.objects.select_related("home_division", "merged_into"), user, pk=person_id)


def sources_of(person: Person) -> QuerySet[PersonSource]:
    return person.sources.select_related("recorded_by").all()


def pending_merges(user: User) -> QuerySet[MergeCandidate]:
    return scoped(MergeCandidate.objects.filter(status=MergeStatus.PENDING), user).select_related(
        "person", "other", "person__home_division", "other__home_division"
    )


def access_merge_candidate(user: User, candidate_id: int) -> MergeCandidate:
    return get_scoped(MergeCandidate.objects.select_related("person", "other"), user, pk=candidate_id)


def communities_for(user: User) -> QuerySet[Division]:
    return scoped(Division.objects.filter(level=DivisionLevel.COMMUNITY), user)


def people_count_by_child_division(user: User) -> list[tuple[Division, int]]:
    """Head-count per child of the user's jurisdiction node (per county for the city, per community for a
    street), for the dashboard. One grouped query over the path prefix."""
    root = user.division
    if root is None:
        return []
    children = list(root.children.order_by("path"))
    if not children:
        return [(root, people_in_scope(user).count())]
    width = len(children[0].path)
    from django.db.models.functions import Substr

    rows = (
        people_in_scope(user)
        .annotate(child=Substr("home_division_id", 1, width))
        .values("child")
        .annotate(n=Count("id"))
    )
    counts = {row["child"]: row["n"] for row in rows}
    return [(child, counts.get(child.path, 0)) for child in children]


def recipients_in_division(division_path: str) -> QuerySet[Person]:
    """Everyone with a mobile number registered under a division (for campaigns; the caller checks scope)."""
    return Person.objects.filter(merged_into__isnull=True, home_division__path__startswith=division_path).exclude(
        phone=""
    )


def people_count_under(division_path: str) -> int:
    """How many people (merged records excluded) are registered under a division: a count for planning, not a
    list, so the caller need not hold the division in scope (a city-wide round's size on a community's page)."""
    return Person.objects.filter(merged_into__isnull=True, home_division__path__startswith=division_path).count()
