"""An invalid round tube puts its people on a resample list (a Recall of kind `invalid`), owned by each person's
home community; a single-tube retest or a later round sample resolves them, a positive one as for a recall."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.people.models import Person
from fangkong.screening.models import PoolEntry
from fangkong.testing import selectors, services
from fangkong.testing.certificates.codec import ResultCode
from fangkong.testing.certificates.selectors import certificate_basis
from fangkong.testing.models import (
    ImportStatus,
    MemberStatus,
    Recall,
    RecallKind,
    RecallMember,
    RecallStatus,
    RetestStatus,
)
from fangkong.testing.services import ResultRow, SampleItem, TestingError
from fangkong.testing.tests.conftest import resident_id
from fangkong.tracing.models import Case


def _to_lab(site: Any, test_round: Any, by: Any, lab: Any, lab_user: Any, barcodes: list[str]) -> None:
    handover = services.hand_over(site, test_round=test_round, lab=lab, barcodes=barcodes, by=by)
    services.confirm_receipt(handover, barcodes=barcodes, by=lab_user)


def _result(lab: Any, lab_user: Any, results: dict[str, str]) -> Any:
    rows = [ResultRow(row=n + 1, barcode=b, result=r) for n, (b, r) in enumerate(results.items())]
    done = services.import_results(lab, rows=rows, by=lab_user)
    assert done.status == ImportStatus.APPLIED, done.errors
    return done


@pytest.fixture
def invalid_pool(site, test_round, sampler_user, lab, lab_user, tree) -> dict[str, Any]:
    """A full tube of ten (two of them living in community B) resulted invalid."""
    items = [
        SampleItem(
            person_code=resident_id(100 + n),
            tube_barcode="IV00000001",
            name=f"重采{n}",
            home_division=tree["b"].path if n >= 8 else "",
        )
        for n in range(10)
    ]
    accepted = services.register_samples(site, test_round=test_round, items=items, by=sampler_user).accepted
    handover = services.hand_over(site, test_round=test_round, lab=lab, barcodes=["IV00000001"], by=sampler_user)
    services.confirm_receipt(handover, barcodes=["IV00000001"], by=lab_user)
    _result(lab, lab_user, {"IV00000001": "无效"})
    return {
        "people": [a.person_id for a in accepted],
        "codes": [item.person_code for item in items],
        "recall": Recall.objects.get(tube__barcode="IV00000001"),
    }


def test_an_invalid_pooled_tube_lists_its_ten_people_by_home_community(invalid_pool, tree, make_user):
    recall = invalid_pool["recall"]
    assert recall.kind == RecallKind.INVALID
    assert recall.status == RecallStatus.OPEN
    members = RecallMember.objects.filter(recall=recall)
    assert sorted(members.values_list("person_id", flat=True)) == sorted(invalid_pool["people"])
    assert members.filter(division=tree["a"]).count() == 8
    assert members.filter(division=tree["b"]).count() == 2
    assert set(members.values_list("status", flat=True)) == {MemberStatus.TO_RETEST}
    # an invalid tube is no risk: nobody is listed in the closed loop for it
    assert not PoolEntry.objects.filter(person_id__in=invalid_pool["people"]).exists()
    assert AuditEntry.objects.filter(action="testing.recall.open", target_id=str(recall.pk)).exists()
    # each community sees its own people, with the reason
    worker_b = make_user(Role.COMMUNITY_WORKER, "b")
    assert selectors.recall_members_for(worker_b, kind=RecallKind.INVALID).count() == 2
    assert selectors.recall_members_for(worker_b, kind=RecallKind.POSITIVE).count() == 0


def test_the_same_invalid_result_twice_opens_no_second_list(invalid_pool, lab, lab_user):
    again = services.import_results(lab, rows=[ResultRow(row=1, barcode="IV00000001", result="invalid")], by=lab_user)
    assert again.status == ImportStatus.REFUSED
    assert [e["code"] for e in again.errors] == ["already_resulted"]
    assert Recall.objects.filter(tube__barcode="IV00000001").count() == 1
    assert RecallMember.objects.count() == 10


def test_an_invalid_tube_does_not_make_the_certificate_pool_positive(invalid_pool):
    person = Person.objects.get(pk=invalid_pool["people"][0])
    basis = certificate_basis(person)
    assert basis is not None
    assert basis.result == ResultCode.INVALID


def test_single_tube_retests_resolve_the_list_and_a_positive_one_is_a_case(
    invalid_pool, site, test_round, sampler_user, lab, lab_user
):
    members = list(RecallMember.objects.filter(recall=invalid_pool["recall"]).order_by("pk"))
    for_a = [m for m in members if m.division_id == site.division_id]
    with pytest.raises(PermissionDeniedError):  # community A's worker cannot retest community B's people
        services.record_retest(members[-1], barcode="RS99999999", by=sampler_user)
    retests = [services.record_retest(m, barcode=f"RS{n:08d}", by=sampler_user) for n, m in enumerate(for_a)]
    barcodes = [r.tube.barcode for r in retests]
    _to_lab(site, test_round, sampler_user, lab, lab_user, barcodes)
    results = dict.fromkeys(barcodes, "negative")
    results[barcodes[2]] = "positive"
    done = _result(lab, lab_user, results)
    assert done.status == ImportStatus.APPLIED
    positive = RecallMember.objects.get(pk=for_a[2].pk)
    assert positive.status == MemberStatus.POSITIVE
    assert positive.retests.get().status == RetestStatus.POSITIVE
    assert Case.objects.filter(person_id=positive.person_id).exists()
    assert RecallMember.objects.filter(pk__in=[m.pk for m in for_a], status=MemberStatus.NEGATIVE).count() == 7
    recall = Recall.objects.get(pk=invalid_pool["recall"].pk)
    assert recall.status == RecallStatus.OPEN  # community B's two are still to be sampled


def test_a_later_round_sample_resolves_the_member_negative_or_into_a_positive_pool(
    invalid_pool, site, test_round, sampler_user, lab, lab_user, tree, make_user
):
    people = invalid_pool["people"]
    documents = invalid_pool["codes"]
    # all ten sampled again in the same round (stored as flagged second swabs): five into each of two tubes
    for barcode, chunk in (("RN00000001", documents[:5]), ("RN00000002", documents[5:])):
        items = [SampleItem(person_code=d, tube_barcode=barcode) for d in chunk]
        result = services.register_samples(site, test_round=test_round, items=items, by=sampler_user)
        assert not result.failed, result.failed
        services.close_tube(_tube(barcode), by=sampler_user)
    _to_lab(site, test_round, sampler_user, lab, lab_user, ["RN00000001", "RN00000002"])
    _result(lab, lab_user, {"RN00000001": "negative", "RN00000002": "positive"})

    members = {m.person_id: m for m in RecallMember.objects.filter(recall=invalid_pool["recall"])}
    assert {members[p].status for p in people[:5]} == {MemberStatus.NEGATIVE}
    assert {members[p].status for p in people[5:]} == {MemberStatus.POOL_POSITIVE}
    assert all(members[p].resolved_by_sample_id for p in people)
    # the positive pool has its own recall, which now follows those five
    positive = Recall.objects.get(tube__barcode="RN00000002")
    assert positive.kind == RecallKind.POSITIVE
    assert sorted(positive.members.values_list("person_id", flat=True)) == sorted(people[5:])
    assert Recall.objects.get(pk=invalid_pool["recall"].pk).status == RecallStatus.RESOLVED
    assert AuditEntry.objects.filter(action="testing.resample.resolve").count() == 10


def test_a_sample_taken_before_the_invalid_result_does_not_resolve(site, test_round, sampler_user, lab, lab_user):
    person_code = resident_id(300)
    services.register_samples(
        site,
        test_round=test_round,
        by=sampler_user,
        items=[SampleItem(person_code=person_code, tube_barcode="EA00000001", name="早")],
    )
    services.register_samples(
        site,
        test_round=test_round,
        by=sampler_user,
        items=[SampleItem(person_code=person_code, tube_barcode="EA00000002")],
    )
    for barcode in ("EA00000001", "EA00000002"):
        services.close_tube(_tube(barcode), by=sampler_user)
    _to_lab(site, test_round, sampler_user, lab, lab_user, ["EA00000001", "EA00000002"])
    _result(lab, lab_user, {"EA00000001": "invalid"})
    _result(lab, lab_user, {"EA00000002": "negative"})  # swabbed before the invalid result was known
    member = RecallMember.objects.get()
    assert member.status == MemberStatus.TO_RETEST


def test_the_recalls_page_shows_the_reason(invalid_pool, client, sampler_user):
    client.force_login(sampler_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        page = client.get("/testing/recalls/?kind=invalid")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('data-testid="recall-member"') == 8
    assert "Invalid — sample again" in body
    assert 'data-kind="invalid"' in body


def test_a_retest_by_a_lab_user_is_refused(invalid_pool, lab_user):
    member = RecallMember.objects.filter(recall=invalid_pool["recall"]).first()
    with pytest.raises((PermissionDeniedError, PermissionDenied)):
        services.record_retest(member, barcode="RS00000077", by=lab_user)
    assert not member.retests.exists()


def test_a_retest_of_a_resolved_member_is_refused_with_its_field(invalid_pool, sampler_user):
    member = RecallMember.objects.filter(recall=invalid_pool["recall"], division_id=sampler_user.division_id).first()
    services.record_retest(member, barcode="RS00000088", by=sampler_user)
    with pytest.raises(TestingError) as refused:
        services.record_retest(member, barcode="RS00000089", by=sampler_user)
    assert (refused.value.field, str(refused.value.code)) == ("member", "already_done")


def _tube(barcode: str) -> Any:
    from fangkong.testing.models import Tube

    return Tube.objects.get(barcode=barcode)
