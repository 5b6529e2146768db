"""A round's exemptions: recorded through `record_exemption` (by ID number on the page, or a chosen person),
revoked through `revoke_exemption`, listed by community with masked identities, and the door-to-door list of
bedridden people not yet sampled, to print or export."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.testing import selectors, services
from fangkong.testing.models import Exemption, ExemptionReason
from fangkong.testing.services import SampleItem, TestingError
from fangkong.testing.tests.conftest import resident_id


@pytest.fixture(autouse=True)
def english(client: Any) -> Any:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def residents(register: Any) -> dict[str, Any]:
    return {
        "bedridden": register("a", name="卧床甲", document_number=resident_id(500), phone="13800005001"),
        "infant": register("a", name="婴儿乙", document_number=resident_id(501)),
        "other_community": register("b", name="西社区丙", document_number=resident_id(502)),
        "other_county": register("c", name="王村丁", document_number=resident_id(503)),
    }


def test_record_and_revoke_an_exemption_with_audit(residents, test_round, sampler_user):
    person = residents["infant"]
    exemption = services.record_exemption(person, test_round=test_round, reason="infant", by=sampler_user)
    assert exemption.division_id == person.home_division_id
    services.revoke_exemption(exemption, note="已满周岁", by=sampler_user)
    assert not Exemption.objects.exists()
    revoked = AuditEntry.objects.get(action="testing.exemption.revoke")
    assert revoked.changes["reason"] == ["infant", None]
    assert revoked.changes["note"] == ["", "已满周岁"]
    with pytest.raises(TestingError) as again:
        services.revoke_exemption(exemption, by=sampler_user)
    assert (again.value.field, str(again.value.code)) == ("exemption", "already_done")


def test_refusals_name_the_field(residents, test_round, sampler_user, make_user, tree):
    with pytest.raises(TestingError) as other:
        services.record_exemption(residents["infant"], test_round=test_round, reason="other", by=sampler_user)
    assert other.value.field == "note"
    with pytest.raises(TestingError) as unknown:
        services.record_exemption(residents["infant"], test_round=test_round, reason="tired", by=sampler_user)
    assert unknown.value.field == "reason"
    hq = make_user(Role.CITY_HQ, "city")
    with pytest.raises(TestingError) as outside:  # the round covers county 410302; 王村 is in another county
        services.record_exemption(residents["other_county"], test_round=test_round, reason="away", by=hq)
    assert (outside.value.field, str(outside.value.code)) == ("person", "outside_round")
    assert not Exemption.objects.exists()


def test_scope_a_community_cannot_exempt_or_revoke_for_another(residents, test_round, sampler_user, make_user):
    with pytest.raises(PermissionDeniedError):
        services.record_exemption(residents["other_community"], test_round=test_round, reason="away", by=sampler_user)
    worker_b = make_user(Role.COMMUNITY_WORKER, "b")
    exemption = services.record_exemption(residents["infant"], test_round=test_round, reason="infant", by=sampler_user)
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDeniedError):
        services.revoke_exemption(exemption, by=worker_b)
    assert Exemption.objects.count() == 1
    assert AuditEntry.objects.count() == before
    assert selectors.exemptions_for(worker_b, test_round).count() == 0


def test_a_lab_user_cannot_record_exemptions(residents, test_round, lab_user):
    with pytest.raises(PermissionDeniedError):
        services.record_exemption(residents["infant"], test_round=test_round, reason="infant", by=lab_user)


def test_the_door_to_door_list_keeps_bedridden_people_until_sampled(
    residents, site, test_round, sampler_user, make_user
):
    bedridden = residents["bedridden"]
    services.record_exemption(bedridden, test_round=test_round, reason="bedridden", note="3号楼2单元", by=sampler_user)
    services.record_exemption(residents["infant"], test_round=test_round, reason="infant", by=sampler_user)
    assert [e.person_id for e in selectors.door_to_door_list(sampler_user, test_round)] == [bedridden.pk]
    services.register_sample(
        site,
        test_round=test_round,
        item=SampleItem(person_code=resident_id(500), tube_barcode="DD00000001"),
        by=sampler_user,
    )
    assert not selectors.door_to_door_list(sampler_user, test_round).exists()


def test_the_page_adds_by_id_number_lists_masked_and_revokes(client, residents, test_round, sampler_user):
    client.force_login(sampler_user)
    url = f"/testing/rounds/{test_round.pk}/exemptions/"
    added = client.post(url + "add/", {"person_code": resident_id(500), "reason": "bedridden", "note": "卧床"})
    assert added.status_code == 302
    exemption = Exemption.objects.get()
    assert exemption.reason == ExemptionReason.BEDRIDDEN
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="exemption-row"' in body
    assert resident_id(500) not in body and "13800005001" not in body  # masked
    assert residents["bedridden"].masked_document in body
    door = client.get(f"/testing/rounds/{test_round.pk}/door-to-door/")
    assert door.content.decode().count('data-testid="door-to-door-person"') == 1
    export = client.get(f"/testing/rounds/{test_round.pk}/door-to-door/?format=csv")
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    assert "卧床甲" in text and resident_id(500) not in text and "13800005001" not in text
    revoked = client.post(f"/testing/exemptions/{exemption.pk}/revoke/", {"note": "已康复"})
    assert revoked.status_code == 302
    assert not Exemption.objects.exists()


def test_the_page_refuses_a_person_outside_the_community_with_the_reason(client, residents, test_round, sampler_user):
    client.force_login(sampler_user)
    response = client.post(
        f"/testing/rounds/{test_round.pk}/exemptions/add/", {"person_code": resident_id(502), "reason": "away"}
    )
    assert response.status_code == 400
    assert "Nobody with this ID number lives in your communities." in response.content.decode()
    bad = client.post(f"/testing/rounds/{test_round.pk}/exemptions/add/", {"person_code": "12345", "reason": "away"})
    assert bad.status_code == 400
    assert 'data-testid="exemption-error"' in bad.content.decode()
    assert not Exemption.objects.exists()


def test_the_page_adds_a_chosen_person(client, residents, test_round, sampler_user):
    client.force_login(sampler_user)
    person = residents["infant"]
    form = client.get(f"/testing/rounds/{test_round.pk}/exemptions/?person={person.pk}")
    assert person.name in form.content.decode()
    client.post(f"/testing/rounds/{test_round.pk}/exemptions/add/", {"person": person.pk, "reason": "infant"})
    assert Exemption.objects.get().person_id == person.pk


def test_the_exemption_list_pins_its_query_count(
    client, residents, test_round, sampler_user, register, django_assert_max_num_queries
):
    for n in range(20):
        person = register("a", name=f"外出{n}", document_number=resident_id(600 + n))
        services.record_exemption(person, test_round=test_round, reason="away", by=sampler_user)
    client.force_login(sampler_user)
    with django_assert_max_num_queries(14):
        page = client.get(f"/testing/rounds/{test_round.pk}/exemptions/")
    assert page.content.decode().count('data-testid="exemption-row"') == 20
