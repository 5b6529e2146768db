"""Positive-pool recall (阳性混管召回), invalid-tube resampling (无效重采) and single-tube retests, until every
listed person is resolved. One mechanism for both: a `Recall` of kind `positive` or `invalid`.

A positive or invalid round tube opens a Recall the moment its result is recorded (`open_recall`, called by the
result import in the same transaction): each person swabbed into the tube becomes a RecallMember owned by their
home community. People of a positive pool are also listed in the closed loop (`screening.services.list_person`,
reason `pool_positive`, source `testing`) so they appear on that community's work list; an invalid tube is no
risk, so its people are only on the recall page ("invalid — sample again"). The community samples each of them
singly (`record_retest`): a capacity-1 tube that goes to the lab like any other. The retest's result
(`resolve_retest`, called by the result import) resolves the member: negative → tested in the loop; positive →
a case (`tracing.services.register_case`); invalid → sample again. A person on an invalid tube's list is also
resolved by a round sample taken after the invalid result, when that sample's tube is resulted
(`resolve_resamples`): negative → resolved negative; positive pool → resolved, and the new pool's own recall
follows them. The recall resolves when every member has.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.people.models import Person
from fangkong.screening import services as screening
from fangkong.screening.models import Reason, Source
from fangkong.testing.codes import CodeError, normalize_barcode
from fangkong.testing.models import (
    OPEN_MEMBER_STATES,
    RESOLVED_MEMBER_STATES,
    MemberStatus,
    Recall,
    RecallKind,
    RecallMember,
    RecallStatus,
    ResultValue,
    Retest,
    RetestStatus,
    Sample,
    SamplePurpose,
    SamplingSite,
    Tube,
    TubeResult,
    TubeStatus,
)
from fangkong.testing.services.common import TestingError, TestingErrorCode, code_of, require, require_in_scope
from fangkong.tracing import services as tracing
from fangkong.tracing.models import Case, CaseKind

# A positive single tube is registered as an asymptomatic infection until a clinician classifies it (the
# tracing app's case page changes the kind); the lab result alone cannot tell confirmed from asymptomatic.
RETEST_POSITIVE_CASE_KIND = CaseKind.ASYMPTOMATIC


def open_recall(tube: Tube, *, tube_result: TubeResult, by: User | None, now: datetime | None = None) -> Recall:
    """The list of a positive pool (kind `positive`) or an invalid tube (kind `invalid`) to sample again. Call
    inside the result's transaction. One per tube (`Recall.tube` is one-to-one, and a tube gets one result)."""
    now = now or timezone.now()
    if tube_result.result not in (ResultValue.POSITIVE, ResultValue.INVALID):
        raise TestingError(_("Only a positive or invalid tube is recalled."), field="result")
    kind = RecallKind.POSITIVE if tube_result.result == ResultValue.POSITIVE else RecallKind.INVALID
    recall = Recall.objects.create(
        tube=tube,
        tube_result=tube_result,
        round_id=tube.round_id,
        division_id=tube.division_id,
        kind=kind,
        created_at=now,
    )
    samples = list(
        Sample.objects.filter(tube=tube).select_related("person__home_division").order_by("sampled_at", "pk")
    )
    members: list[RecallMember] = []
    seen: set[int] = set()
    fallback = tube.division
    for sample in samples:
        person = sample.person
        if person.pk in seen:
            continue
        seen.add(person.pk)
        division, _unlocated = screening.responsible_division(person, fallback=fallback)
        entry_id = None
        if kind == RecallKind.POSITIVE:
            listing = screening.list_person(
                person,
                reason=Reason.POOL_POSITIVE,
                source=Source.TESTING,
                by=None,  # the system reacts to the lab's result; the import's audit row names the lab user
                reference=f"testing:recall:{recall.pk}:{person.pk}",
                data={"tube": tube.barcode, "round": tube.round_id},
                now=now,
            )
            entry_id = listing.entry.pk
        members.append(
            RecallMember(
                recall=recall,
                person=person,
                sample=sample,
                division_id=division.path,
                pool_entry_id=entry_id,
            )
        )
    RecallMember.objects.bulk_create(members)
    audit.record(
        "testing.recall.open",
        by=by,
        target=recall,
        division_path=tube.division_id,
        changes={"tube": [None, tube.barcode], "kind": [None, kind], "people": [None, len(members)]},
    )
    return recall


def _close_recall_if_done(recall_id: int, *, now: datetime) -> None:
    if not RecallMember.objects.filter(recall_id=recall_id).exclude(status__in=RESOLVED_MEMBER_STATES).exists():
        updated = Recall.objects.filter(pk=recall_id, status=RecallStatus.OPEN).update(
            status=RecallStatus.RESOLVED, resolved_at=now
        )
        if updated:
            audit.record(
                "testing.recall.resolve",
                by=None,
                target_type="testing.recall",
                target_id=str(recall_id),
                division_path=str(Recall.objects.filter(pk=recall_id).values_list("division_id", flat=True).first()),
                changes={"status": [RecallStatus.OPEN, RecallStatus.RESOLVED]},
            )


@transaction.atomic
def record_retest(
    member: RecallMember,
    *,
    barcode: str,
    by: User | None,
    site: SamplingSite | None = None,
    sampled_at: datetime | None = None,
) -> Retest:
    """A recalled person swabbed alone into a new single tube (`barcode`), at `site` (default: the site of the
    pooled sample). The tube then goes to the lab by handover like any other."""
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(member.division_id, by)
    member = (
        RecallMember.objects.select_for_update(of=("self",)).select_related("recall", "sample__site").get(pk=member.pk)
    )
    if member.status != MemberStatus.TO_RETEST:
        raise TestingError(
            _("This person's retest is already sampled or resolved."),
            code=TestingErrorCode.ALREADY_DONE,
            field="member",
        )
    try:
        code = normalize_barcode(barcode)
    except CodeError as error:
        raise TestingError(error.message, code=code_of(str(error.code)), field="barcode") from error
    site = site or member.sample.site
    at = sampled_at or timezone.now()
    if at > timezone.now() + timedelta(minutes=10):
        raise TestingError(
            _("The sampling time is in the future."), code=TestingErrorCode.SAMPLED_AT, field="sampled_at"
        )
    try:
        with transaction.atomic():
            tube = Tube.objects.create(
                barcode=code,
                round_id=member.recall.round_id,
                site=site,
                division_id=site.division_id,
                capacity=1,
                sample_count=1,
                is_retest=True,
                status=TubeStatus.CLOSED,
                opened_at=at,
                closed_at=at,
            )
    except IntegrityError:
        raise TestingError(
            _("Tube %(barcode)s was already used; a barcode is never reused.") % {"barcode": code},
            code=TestingErrorCode.TUBE_USED,
            field="barcode",
        ) from None
    sample = Sample.objects.create(
        person_id=member.person_id,
        tube=tube,
        round_id=member.recall.round_id,
        site=site,
        division_id=site.division_id,
        purpose=SamplePurpose.RETEST,
        sampled_at=at,
        recorded_by=by if by is not None and by.pk else None,
    )
    retest = Retest.objects.create(
        member=member,
        person_id=member.person_id,
        tube=tube,
        sample=sample,
        division_id=member.division_id,
        sampled_at=at,
        recorded_by=by if by is not None and by.pk else None,
    )
    member.status = MemberStatus.RETEST_SAMPLED
    member.save(update_fields=["status"])
    audit.record(
        "testing.retest.sample",
        by=by,
        target=retest,
        division_path=member.division_id,
        changes={"tube": [None, code], "member": [MemberStatus.TO_RETEST, MemberStatus.RETEST_SAMPLED]},
    )
    return retest


def resolve_retest(retest: Retest, *, result: TubeResult, by: User | None, now: datetime | None = None) -> Retest:
    """Apply a retest tube's result to the member (and the loop, and tracing). Call inside the result's
    transaction."""
    now = now or timezone.now()
    retest = Retest.objects.select_for_update(of=("self",)).select_related("member", "sample").get(pk=retest.pk)
    member = retest.member
    person = Person.objects.get(pk=retest.person_id)
    old_member = member.status
    # A member of an invalid tube's list may already be resolved by a later round sample; a single tube's
    # positive result still makes them a case, a negative or invalid one leaves the resolution as it is.
    was_resolved = member.is_resolved
    if result.result == ResultValue.NEGATIVE:
        retest.status = RetestStatus.NEGATIVE
        if not was_resolved:
            member.status, member.resolved_at = MemberStatus.NEGATIVE, now
        screening.record_tested(person, sampled_at=retest.sampled_at, by=None, note=f"retest {retest.tube_id}")
    elif result.result == ResultValue.POSITIVE:
        retest.status, member.status, member.resolved_at = RetestStatus.POSITIVE, MemberStatus.POSITIVE, now
        existing = Case.objects.filter(person=person).first()
        retest.case = existing or tracing.register_case(
            person, kind=RETEST_POSITIVE_CASE_KIND, first_positive_at=retest.sampled_at, by=None, reported_at=now
        )
    else:
        retest.status = RetestStatus.INVALID
        if not was_resolved:
            member.status = MemberStatus.TO_RETEST
    retest.resulted_at = result.resulted_at
    retest.save(update_fields=["status", "resulted_at", "case"])
    member.save(update_fields=["status", "resolved_at"])
    audit.record(
        "testing.retest.result",
        by=by,
        target=retest,
        division_path=retest.division_id,
        changes={
            "result": [None, result.result],
            "member": [old_member, member.status],
            "case": [None, retest.case.number if retest.case else None],
        },
    )
    if member.is_resolved:
        _close_recall_if_done(member.recall_id, now=now)
    return retest


def resolve_resamples(results: list[TubeResult], *, by: User | None, now: datetime | None = None) -> int:
    """People on an open invalid-tube list who were sampled again in a round after the invalid result, now
    that their new tube has a negative or positive result: negative → resolved negative (and tested in the
    loop, as every negative pool's people are); positive pool → resolved as `pool_positive`, since that pool
    has its own recall. The earliest such sample decides. Call inside the result's transaction, after the
    tubes' own reactions. Returns how many members were resolved."""
    now = now or timezone.now()
    valid = {r.tube_id: r for r in results if r.result in (ResultValue.NEGATIVE, ResultValue.POSITIVE)}
    if not valid:
        return 0
    members = list(
        RecallMember.objects.select_for_update(of=("self",))
        .filter(
            recall__kind=RecallKind.INVALID,
            status__in=OPEN_MEMBER_STATES,
            person_id__in=Sample.objects.filter(tube_id__in=list(valid), purpose=SamplePurpose.ROUND).values(
                "person_id"
            ),
        )
        .select_related("recall__tube_result")
        .order_by("pk")
    )
    if not members:
        return 0
    samples: dict[int, list[Sample]] = {}
    for sample in Sample.objects.filter(
        tube_id__in=list(valid), purpose=SamplePurpose.ROUND, person_id__in=[m.person_id for m in members]
    ).order_by("sampled_at", "pk"):
        samples.setdefault(sample.person_id, []).append(sample)
    resolved = 0
    recalls: set[int] = set()
    for member in members:
        invalid_at = member.recall.tube_result.resulted_at
        later = [s for s in samples.get(member.person_id, []) if s.sampled_at >= invalid_at]
        if not later:
            continue
        sample = later[0]
        outcome = valid[sample.tube_id].result
        old = member.status
        member.status = MemberStatus.NEGATIVE if outcome == ResultValue.NEGATIVE else MemberStatus.POOL_POSITIVE
        member.resolved_at, member.resolved_by_sample = now, sample
        member.save(update_fields=["status", "resolved_at", "resolved_by_sample"])
        audit.record(
            "testing.resample.resolve",
            by=by,
            target=member,
            division_path=member.division_id,
            changes={"status": [old, member.status], "sample": [None, sample.pk], "result": [None, outcome]},
        )
        recalls.add(member.recall_id)
        resolved += 1
    for recall_id in sorted(recalls):
        _close_recall_if_done(recall_id, now=now)
    return resolved
