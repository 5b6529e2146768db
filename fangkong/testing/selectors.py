"""Every read of the testing app, already scoped to the user's jurisdiction.

Rounds and labs are the two exceptions to "inside my subtree": a city-wide round covers every community
below it, and a lab serves communities below its own division, so a community's staff see the rounds and labs
*above* them too (their ancestors), never those of a sibling.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from fangkong.core import rows
from fangkong.core.models import Organization, OrganizationKind, User
from fangkong.core.scope import get_scoped, is_in_scope, scoped
from fangkong.people import selectors as people_selectors
from fangkong.people.models import Person
from fangkong.testing.codes import parse_person_code
from fangkong.testing.models import (
    OPEN_MEMBER_STATES,
    DeviceBatch,
    Exemption,
    ExemptionReason,
    FlagStatus,
    Handover,
    HandoverTube,
    MemberStatus,
    Recall,
    RecallKind,
    RecallMember,
    ResultImport,
    Retest,
    RoundStatus,
    Sample,
    SamplePurpose,
    Sampler,
    SamplingFlag,
    SamplingSite,
    TestRound,
    Tube,
    TubeStatus,
)

PATH_WIDTHS = (2, 4, 6, 9, 12)  # province, city, county, street, community


def ancestor_paths(path: str) -> list[str]:
    """The division paths above `path` (its province, city, county, street), not `path` itself."""
    return [path[:width] for width in PATH_WIDTHS if width < len(path)]


def _covering(queryset: QuerySet[Any], user: User | Any, field: str = "division__path") -> QuerySet[Any]:
    """Records inside the user's jurisdiction, or at one of its ancestors."""
    path = getattr(user, "scope_path", None) if getattr(user, "is_authenticated", False) else None
    if not path or not getattr(user, "is_active", False):
        return queryset.none()
    return queryset.filter(Q(**{f"{field}__startswith": path}) | Q(**{f"{field}__in": ancestor_paths(path)}))


def covers(path: str | None, user: User | Any) -> bool:
    """`_covering` for one record already fetched: inside the user's jurisdiction or at one of its ancestors."""
    scope = getattr(user, "scope_path", None) if getattr(user, "is_authenticated", False) else None
    if not scope or not path or not getattr(user, "is_active", False):
        return False
    return path.startswith(scope) or path in ancestor_paths(scope)


def scan_target(user: User, site_id: int, round_id: int) -> tuple[SamplingSite, TestRound]:
    """The site and the round of a single scan, on the sampling API's hot path: one statement for both rows,
    read into instances by `core.rows` (no ORM query building), and the same rules as `access_site` and
    `access_round`, applied to the fetched rows (`is_in_scope`, `covers`). Outside the user's reach, or
    either missing, NotFoundError."""
    from fangkong.core.errors import NotFoundError

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(SamplingSite, 's')}, {rows.columns(TestRound, 'r')}"  # noqa: S608 - names from model metadata, values bound
            " FROM testing_samplingsite s, testing_testround r WHERE s.id = %s AND r.id = %s",
            [site_id, round_id],
        )
        found = cursor.fetchone()
    if found is None:
        raise NotFoundError()
    site = rows.instance(SamplingSite, found)
    test_round = rows.instance(TestRound, found, rows.width(SamplingSite))
    if not is_in_scope(site.division_id, user) or not covers(test_round.division_id, user):
        raise NotFoundError()
    return site, test_round


# Sites and samplers


def sites_for(user: User, *, active_only: bool = False) -> QuerySet[SamplingSite]:
    sites = scoped(SamplingSite.objects.all(), user)
    return sites.filter(is_active=True) if active_only else sites


def access_site(user: User, site_id: int) -> SamplingSite:
    return get_scoped(SamplingSite.objects.all(), user, pk=site_id)


def samplers_of(site: SamplingSite) -> QuerySet[Sampler]:
    return Sampler.objects.filter(site=site, is_active=True)


# Rounds


def rounds_for(user: User) -> QuerySet[TestRound]:
    return _covering(TestRound.objects.all(), user)


def open_rounds_for(user: User) -> QuerySet[TestRound]:
    return rounds_for(user).filter(status=RoundStatus.OPEN)


def access_round(user: User, round_id: int) -> TestRound:
    found = rounds_for(user).filter(pk=round_id).first()
    if found is None:
        from fangkong.core.errors import NotFoundError

        raise NotFoundError()
    return found


def labs_for(user: User) -> QuerySet[Organization]:
    return _covering(Organization.objects.filter(kind=OrganizationKind.LAB), user)


def access_lab(user: User, lab_id: int) -> Organization:
    found = labs_for(user).filter(pk=lab_id).first()
    if found is None:
        from fangkong.core.errors import NotFoundError

        raise NotFoundError()
    return found


# Tubes and samples


def tubes_for(
    user: User, *, test_round: TestRound | None = None, site: SamplingSite | None = None, status: str = ""
) -> QuerySet[Tube]:
    tubes = scoped(Tube.objects.select_related("site", "round"), user)
    if test_round is not None:
        tubes = tubes.filter(round=test_round)
    if site is not None:
        tubes = tubes.filter(site=site)
    if status:
        tubes = tubes.filter(status=status)
    return tubes


def access_tube(user: User, tube_id: int) -> Tube:
    return get_scoped(Tube.objects.select_related("site", "round"), user, pk=tube_id)


def tube_by_barcode(user: User, barcode: str) -> Tube | None:
    return scoped(Tube.objects.all(), user).filter(barcode=barcode).first()


def samples_in(tube: Tube) -> QuerySet[Sample]:
    return Sample.objects.filter(tube=tube).select_related("person").order_by("sampled_at", "pk")


def open_tubes_at(site: SamplingSite, test_round: TestRound) -> QuerySet[Tube]:
    return Tube.objects.filter(site=site, round=test_round, status=TubeStatus.OPEN, is_retest=False).order_by(
        "-opened_at"
    )


def closed_tubes_at(site: SamplingSite, test_round: TestRound) -> QuerySet[Tube]:
    """Tubes ready for a handover (closed, not yet handed over)."""
    return Tube.objects.filter(site=site, round=test_round, status=TubeStatus.CLOSED).order_by("closed_at", "pk")


def recent_samples_at(site: SamplingSite, test_round: TestRound, *, limit: int = 20) -> QuerySet[Sample]:
    return (
        Sample.objects.filter(site=site, round=test_round)
        .select_related("person", "tube")
        .order_by("-recorded_at", "-pk")[:limit]
    )


def results_of_person(person_id: int) -> QuerySet[Sample]:
    """A person's samples, newest first, with each tube and its result (if any). Unscoped: for the resident's
    own results page (behind a one-time code) and certificates; staff pages go through scoped selectors."""
    return (
        Sample.objects.filter(person_id=person_id)
        .select_related("tube", "tube__result", "tube__lab", "round", "site")
        .order_by("-sampled_at", "-pk")
    )


def sampled_count(test_round: TestRound) -> int:
    """People sampled in the round (each once, duplicates not counted)."""
    return Sample.objects.filter(round=test_round, purpose=SamplePurpose.ROUND, is_duplicate=False).count()


# Custody


def handovers_for(user: User, *, status: str = "", lab: Organization | None = None) -> QuerySet[Handover]:
    handovers = scoped(Handover.objects.select_related("site", "lab", "round"), user)
    if status:
        handovers = handovers.filter(status=status)
    if lab is not None:
        handovers = handovers.filter(lab=lab)
    return handovers


def access_handover(user: User, handover_id: int) -> Handover:
    return get_scoped(Handover.objects.select_related("site", "lab", "round"), user, pk=handover_id)


def handover_items(handover: Handover) -> QuerySet[HandoverTube]:
    return HandoverTube.objects.filter(handover=handover).select_related("tube").order_by("tube__barcode")


def missing_tubes(user: User) -> QuerySet[HandoverTube]:
    from fangkong.testing.models import CustodyStatus

    return scoped(HandoverTube.objects.select_related("tube", "handover__lab"), user).filter(
        status=CustodyStatus.MISSING
    )


# Results


def imports_for(user: User) -> QuerySet[ResultImport]:
    return scoped(ResultImport.objects.select_related("lab"), user)


def access_import(user: User, import_id: int) -> ResultImport:
    return get_scoped(ResultImport.objects.select_related("lab"), user, pk=import_id)


# Recall and retests


def recalls_for(user: User, *, status: str = "") -> QuerySet[Recall]:
    recalls = scoped(Recall.objects.select_related("tube", "round"), user)
    return recalls.filter(status=status) if status else recalls


def recall_members_for(
    user: User, *, status: str = "", open_only: bool = False, kind: str = ""
) -> QuerySet[RecallMember]:
    """The recall list of the user's communities: people of positive pools and of invalid tubes (to sample
    again) whose home is in scope. `kind` narrows to one of `RecallKind`."""
    members = scoped(RecallMember.objects.select_related("person", "recall__tube", "sample__site", "division"), user)
    if status:
        members = members.filter(status=status)
    if open_only:
        members = members.filter(status__in=OPEN_MEMBER_STATES)
    if kind:
        members = members.filter(recall__kind=kind)
    return members.order_by("status", "recall__created_at", "pk")


def access_member(user: User, member_id: int) -> RecallMember:
    return get_scoped(RecallMember.objects.select_related("person", "recall__tube", "sample__site"), user, pk=member_id)


def retests_of(member: RecallMember) -> QuerySet[Retest]:
    return Retest.objects.filter(member=member).select_related("tube", "case").order_by("-sampled_at")


def recall_counts_by_community(user: User) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in scoped(RecallMember.objects.all(), user)
        .values("division_id", "division__name")
        .annotate(
            total=Count("pk"),
            to_retest=Count("pk", filter=Q(status=MemberStatus.TO_RETEST)),
            sampled=Count("pk", filter=Q(status=MemberStatus.RETEST_SAMPLED)),
            positive=Count("pk", filter=Q(status=MemberStatus.POSITIVE)),
            to_resample=Count("pk", filter=Q(recall__kind=RecallKind.INVALID, status__in=OPEN_MEMBER_STATES)),
        )
        .order_by("division_id")
    ]


# Flags, exemptions, device batches


def flags_for(
    user: User, *, open_only: bool = True, test_round: TestRound | None = None, kind: str = ""
) -> QuerySet[SamplingFlag]:
    """Sampling flags of the user's communities (the community of the site where the swab was taken)."""
    flags = scoped(
        SamplingFlag.objects.select_related(
            "person", "sample__tube", "sample__site", "first_sample__tube", "first_sample__site", "round", "division"
        ),
        user,
    )
    if open_only:
        flags = flags.filter(status=FlagStatus.OPEN)
    if test_round is not None:
        flags = flags.filter(round=test_round)
    if kind:
        flags = flags.filter(kind=kind)
    return flags.order_by("-created_at", "-pk")


def access_flag(user: User, flag_id: int) -> SamplingFlag:
    return get_scoped(
        SamplingFlag.objects.select_related("person", "sample__tube", "first_sample__tube", "round", "division"),
        user,
        pk=flag_id,
    )


def exemptions_for(user: User, test_round: TestRound) -> QuerySet[Exemption]:
    """The round's exemptions of people whose home community is in the user's scope."""
    return (
        scoped(Exemption.objects.select_related("person", "division", "created_by"), user)
        .filter(round=test_round)
        .order_by("division_id", "reason", "pk")
    )


def access_exemption(user: User, exemption_id: int) -> Exemption:
    return get_scoped(Exemption.objects.select_related("person", "round"), user, pk=exemption_id)


def door_to_door_list(user: User, test_round: TestRound) -> QuerySet[Exemption]:
    """Bedridden people of the round in the user's communities not yet sampled in it (a flagged second swab
    counts too: the person was swabbed), by community."""
    sampled = Sample.objects.filter(round=test_round, purpose=SamplePurpose.ROUND).values("person_id")
    return exemptions_for(user, test_round).filter(reason=ExemptionReason.BEDRIDDEN).exclude(person_id__in=sampled)


def person_for_code(user: User, code: str) -> Person | None:
    """The person a resident ID number or personal QR names, if they live in the user's scope and are not a
    merged record. Raises `codes.CodeError` for a malformed code."""
    parsed = parse_person_code(code)
    people = people_selectors.people_in_scope(user)
    if parsed.person_id is not None:
        return people.filter(pk=parsed.person_id).first()
    return people.filter(documents__number=parsed.document_number).distinct().first()


def device_batch(device_id: str, key: str) -> DeviceBatch | None:
    return DeviceBatch.objects.filter(device_id=device_id, key=key).first()
