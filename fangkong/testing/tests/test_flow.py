"""One pooled round end to end through the services: sample, hand over, receive, results, recall, retest, case."""

from __future__ import annotations

from typing import Any

from fangkong.screening.models import LoopState, PoolEntry
from fangkong.testing import services
from fangkong.testing.models import (
    MemberStatus,
    Recall,
    RecallStatus,
    RetestStatus,
    Sample,
    Tube,
    TubeStatus,
)
from fangkong.testing.services import ResultRow, SampleItem
from fangkong.testing.tests.conftest import resident_id
from fangkong.tracing.models import Case


def _sample_tube(site: Any, test_round: Any, by: Any, barcode: str, people: list[str]) -> None:
    items = [SampleItem(person_code=number, tube_barcode=barcode, name=f"居民{n}") for n, number in enumerate(people)]
    result = services.register_samples(site, test_round=test_round, items=items, by=by)
    assert not result.failed, result.failed


def test_a_positive_pool_is_recalled_retested_and_the_positive_person_becomes_a_case(
    site, test_round, sampler_user, lab, lab_user
):
    positive_pool = [resident_id(n) for n in range(10)]
    negative_pool = [resident_id(n) for n in range(10, 20)]
    _sample_tube(site, test_round, sampler_user, "TB00000001", positive_pool)
    _sample_tube(site, test_round, sampler_user, "TB00000002", negative_pool)
    assert set(Tube.objects.values_list("status", flat=True)) == {TubeStatus.CLOSED}

    handover = services.hand_over(
        site, test_round=test_round, lab=lab, barcodes=["TB00000001", "TB00000002"], by=sampler_user
    )
    services.confirm_receipt(handover, barcodes=["TB00000001", "TB00000002"], by=lab_user)
    imported = services.import_results(
        lab,
        rows=[
            ResultRow(row=1, barcode="TB00000001", result="阳性", ct_orf1ab="28.5", ct_n="30.1"),
            ResultRow(row=2, barcode="TB00000002", result="阴性"),
        ],
        by=lab_user,
    )
    assert imported.status == "applied", imported.errors
    recall = Recall.objects.get(tube__barcode="TB00000001")
    members = list(recall.members.order_by("pk"))
    assert len(members) == 10
    assert PoolEntry.objects.filter(person_id__in=[m.person_id for m in members], state=LoopState.LISTED).count() == 10

    retests = [
        services.record_retest(member, barcode=f"RT{n:08d}", by=sampler_user) for n, member in enumerate(members)
    ]
    barcodes = [r.tube.barcode for r in retests]
    handover = services.hand_over(site, test_round=test_round, lab=lab, barcodes=barcodes, by=sampler_user)
    services.confirm_receipt(handover, barcodes=barcodes, by=lab_user)
    rows = [ResultRow(row=n + 1, barcode=b, result="negative") for n, b in enumerate(barcodes)]
    rows[3] = ResultRow(row=4, barcode=barcodes[3], result="positive", ct_orf1ab=25, ct_n=26)
    done = services.import_results(lab, rows=rows, by=lab_user)
    assert done.status == "applied", done.errors

    recall.refresh_from_db()
    assert recall.status == RecallStatus.RESOLVED
    positive = members[3]
    positive.refresh_from_db()
    assert positive.status == MemberStatus.POSITIVE
    assert positive.retests.get().status == RetestStatus.POSITIVE
    assert Case.objects.filter(person_id=positive.person_id).exists()
    assert Sample.objects.filter(purpose="retest").count() == 10
