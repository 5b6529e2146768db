"""Reads for the resident's own results and their certificate.

These are not scoped by a staff user's jurisdiction: the resident proved who they are (their document number
and a code sent to the mobile the registry holds for that document), and they see only their own samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.people.models import Person, PersonDocument
from fangkong.testing.certificates.codec import ResultCode
from fangkong.testing.models import (
    RESOLVED_MEMBER_STATES,
    RecallKind,
    RecallMember,
    ResultValue,
    Sample,
    SamplePurpose,
    TubeResult,
)

RECENT_RESULTS = 10


class ResidentStatus(StrEnum):
    PENDING = "pending"
    NEGATIVE = "negative"
    POSITIVE = "positive"
    POOL_POSITIVE = "pool_positive"
    INVALID = "invalid"


STATUS_LABELS = {
    ResidentStatus.PENDING: _("Awaiting the result"),
    ResidentStatus.NEGATIVE: _("Negative"),
    ResidentStatus.POSITIVE: _("Positive"),
    ResidentStatus.POOL_POSITIVE: _("Pooled tube positive: a single-tube retest is needed"),
    ResidentStatus.INVALID: _("Invalid: please be sampled again"),
}

CERTIFICATE_RESULT = {
    ResidentStatus.NEGATIVE: ResultCode.NEGATIVE,
    ResidentStatus.POSITIVE: ResultCode.POSITIVE,
    ResidentStatus.POOL_POSITIVE: ResultCode.POOL_POSITIVE,
    ResidentStatus.INVALID: ResultCode.INVALID,
}


@dataclass(frozen=True)
class ResidentResult:
    sample_id: int
    sampled_at: datetime
    is_retest: bool
    round_name: str
    site_name: str
    pool_size: int
    status: ResidentStatus
    resulted_at: datetime | None
    lab_name: str

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass(frozen=True)
class CertificateBasis:
    """What a certificate issued now would state: the result and the sample it belongs to."""

    sample_id: int
    sampled_at: datetime
    result: ResultCode
    lab_name: str


def person_for_lookup(*, document_kind: str, document_number: str, phone: str) -> Person | None:
    """The registry's person holding this document, if the registry's mobile for them is `phone`; else None.

    Whether the document is unknown or the mobile differs gives the same answer (None), so the page cannot tell
    anyone which ID numbers the registry holds."""
    document = (
        PersonDocument.objects.select_related("person").filter(kind=document_kind, number=document_number).first()
    )
    if document is None:
        return None
    person = document.person
    for _hop in range(10):  # merged records point at the survivor
        if person.merged_into is None:
            break
        person = person.merged_into
    return person if person.phone and person.phone == phone else None


def _status(result: TubeResult | None, *, pool_size: int) -> ResidentStatus:
    if result is None:
        return ResidentStatus.PENDING
    if result.result == ResultValue.NEGATIVE:
        return ResidentStatus.NEGATIVE
    if result.result == ResultValue.INVALID:
        return ResidentStatus.INVALID
    return ResidentStatus.POSITIVE if pool_size == 1 else ResidentStatus.POOL_POSITIVE


def _tube_result(sample: Sample) -> TubeResult | None:
    try:
        return sample.tube.result
    except ObjectDoesNotExist:
        return None


def resident_results(person: Person, *, limit: int = RECENT_RESULTS) -> list[ResidentResult]:
    """The person's newest samples (their own record and records merged into it), newest first."""
    samples = (
        Sample.objects.filter(Q(person=person) | Q(person__merged_into=person))
        .select_related("tube__result", "tube__lab", "round", "site")
        .order_by("-sampled_at", "-id")[:limit]
    )
    rows = []
    for sample in samples:
        result = _tube_result(sample)
        rows.append(
            ResidentResult(
                sample_id=sample.pk,
                sampled_at=sample.sampled_at,
                is_retest=sample.purpose == SamplePurpose.RETEST,
                round_name=sample.round.name,
                site_name=sample.site.name,
                pool_size=sample.tube.capacity,
                status=_status(result, pool_size=sample.tube.capacity),
                resulted_at=result.resulted_at if result is not None else None,
                lab_name=(sample.tube.lab.name if sample.tube.lab is not None else ""),
            )
        )
    return rows


def certificate_basis(person: Person) -> CertificateBasis | None:
    """What the person's certificate states now, or None before any result.

    The newest sample with a result decides — except that while the person is on an open positive-pool recall
    (retest not yet resolved) the certificate says so, whatever later pooled sample came back negative: a
    recalled person cannot pass a checkpoint on the strength of another pool."""
    open_recall = (
        RecallMember.objects.filter(Q(person=person) | Q(person__merged_into=person), recall__kind=RecallKind.POSITIVE)
        .exclude(status__in=RESOLVED_MEMBER_STATES)
        .select_related("sample", "recall__tube_result__lab")
        .order_by("-sample__sampled_at")
        .first()
    )
    if open_recall is not None:
        return CertificateBasis(
            sample_id=open_recall.sample_id,
            sampled_at=open_recall.sample.sampled_at,
            result=ResultCode.POOL_POSITIVE,
            lab_name=open_recall.recall.tube_result.lab.name,
        )
    newest = (
        Sample.objects.filter(Q(person=person) | Q(person__merged_into=person), tube__result__isnull=False)
        .select_related("tube__result__lab")
        .order_by("-sampled_at", "-id")
        .first()
    )
    if newest is None:
        return None
    result = newest.tube.result
    return CertificateBasis(
        sample_id=newest.pk,
        sampled_at=newest.sampled_at,
        result=CERTIFICATE_RESULT[_status(result, pool_size=newest.tube.capacity)],
        lab_name=result.lab.name,
    )
