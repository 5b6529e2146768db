"""Identity resolution, provenance, merges and reveals, through the real services."""

from __future__ import annotations

import pytest

from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.people.models import MergeCandidate, MergeStatus, Person, PersonSource
from fangkong.people.services import (
    PersonInput,
    confirm_merge,
    register_person,
    reject_merge,
    reveal_identity,
    update_person,
)

ID_A = "11010519491231002X"
ID_B = "440524188001010014"


def test_same_document_resolves_to_the_same_person_and_keeps_both_sources(tree, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    first = register_person(
        PersonInput(name="张三", division=tree["a"].path, document_number=ID_A),
        source="police",
        reference="r1",
        by=worker,
    )
    second = register_person(
        PersonInput(name="张三", division=tree["a"].path, document_number=ID_A.lower(), phone="13812345678"),
        source="self_report",
        by=worker,
    )
    assert first.created and not second.created
    assert second.person.pk == first.person.pk
    person = Person.objects.get(pk=first.person.pk)
    assert person.phone == "13812345678"  # the second source filled what the first lacked
    assert sorted(PersonSource.objects.filter(person=person).values_list("source", flat=True)) == [
        "police",
        "self_report",
    ]
    assert person.birth_date.isoformat() == "1949-12-31" and person.sex == "F"


def test_reimporting_the_same_reference_adds_no_second_source(tree, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    data = PersonInput(name="张三", division=tree["a"].path, document_number=ID_A)
    register_person(data, source="police", reference="list-7:row-3", by=worker)
    register_person(data, source="police", reference="list-7:row-3", by=worker)
    assert PersonSource.objects.count() == 1


def test_same_name_and_phone_without_document_goes_to_the_merge_queue(tree, make_user):
    worker = make_user(Role.STREET_OFFICE, "street")
    one = register_person(PersonInput(name="李四", division=tree["a"].path, phone="13900001111"), source="a", by=worker)
    two = register_person(
        PersonInput(name="李四", division=tree["b"].path, phone="139 0000 1111"), source="b", by=worker
    )
    assert two.created and one.person.pk != two.person.pk
    candidate = MergeCandidate.objects.get()
    assert {candidate.person_id, candidate.other_id} == {one.person.pk, two.person.pk}

    survivor = confirm_merge(candidate, by=worker)
    assert survivor.pk == one.person.pk
    assert Person.objects.get(pk=two.person.pk).merged_into_id == one.person.pk
    assert PersonSource.objects.filter(person=survivor).count() == 2
    assert AuditEntry.objects.filter(action="people.person.merge", target_id=str(two.person.pk)).exists()
    with pytest.raises(DomainError):
        confirm_merge(candidate, by=worker)


def test_a_rejected_pair_stays_two_people(tree, make_user):
    worker = make_user(Role.STREET_OFFICE, "street")
    register_person(PersonInput(name="王五", division=tree["a"].path, phone="13900002222"), source="a", by=worker)
    register_person(PersonInput(name="王五", division=tree["a"].path, phone="13900002222"), source="b", by=worker)
    candidate = reject_merge(MergeCandidate.objects.get(), by=worker)
    assert candidate.status == MergeStatus.DISTINCT
    assert Person.objects.filter(merged_into__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"document_number": "110105194912310021"}, "document_number"),  # wrong check character
        ({"document_number": "11010519491331002X"}, "document_number"),  # month 13
        ({"phone": "12345678901"}, "phone"),
        ({"name": "  "}, "name"),
        ({"division": "999999001001", "phone": "13812345678"}, "division"),
        ({}, "document_number"),  # neither document nor phone
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(tree, make_user, fields, field):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    data = {"name": "张三", "division": tree["a"].path, **fields}
    with pytest.raises(DomainError) as caught:
        register_person(PersonInput(**data), source="test", by=worker)
    assert caught.value.field == field
    assert Person.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_registering_outside_ones_jurisdiction_is_refused(tree, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    with pytest.raises(DomainError) as caught:
        register_person(PersonInput(name="张三", division=tree["b"].path, phone="13800000000"), source="t", by=worker)
    assert caught.value.field == "division"
    assert Person.objects.count() == 0


def test_reveal_needs_a_reason_and_the_capability_and_is_audited(tree, make_user, register):
    person = register("a", document_number=ID_A, phone="13812345678")
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    with pytest.raises(DomainError):
        reveal_identity(person, field="document", reason=" ", by=worker)
    assert not AuditEntry.objects.filter(action__startswith="people.person.reveal").exists()

    assert reveal_identity(person, field="document", reason="核对身份", by=worker) == ID_A
    entry = AuditEntry.objects.get(action="people.person.reveal_document")
    assert (entry.actor, entry.reason, entry.target_id) == (worker, "核对身份", str(person.pk))

    lab = make_user(Role.LAB, "county")
    with pytest.raises(PermissionDeniedError):
        reveal_identity(person, field="phone", reason="need it", by=lab)
    other = make_user(Role.COMMUNITY_WORKER, "b")
    with pytest.raises(PermissionDeniedError):
        reveal_identity(person, field="phone", reason="need it", by=other)


def test_update_audits_old_and_new_values_masked(tree, make_user, register):
    person = register("a", document_number=ID_A, phone="13812345678", address="东街1号")
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    update_person(
        person,
        data=PersonInput(
            name="张三", division=tree["a"].path, document_number=ID_A, phone="13987654321", address="东街2号"
        ),
        reason="居民更正",
        by=worker,
    )
    entry = AuditEntry.objects.filter(action="people.person.update").get()
    assert entry.changes["address"] == ["东街1号", "东街2号"]
    assert entry.changes["phone"] == ["138****5678", "139****4321"]
    assert entry.reason == "居民更正"
