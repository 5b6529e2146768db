"""Self-reports through their services: the two steps, the registry and the ledger, idempotency, errors that
name their field and write nothing; and register_person's public channel (by=None)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import pytest
from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.identity import check_character
from fangkong.core.models import AuditEntry
from fangkong.core.origin import Origin, origin
from fangkong.core.roles import Role
from fangkong.notify.models import Message, OneTimeCode
from fangkong.notify.otp import OtpError
from fangkong.people.models import Person, PersonSource
from fangkong.people.services import PersonInput, register_person
from fangkong.screening.models import PoolEntry, RiskReport, SelfReport
from fangkong.screening.selfreport import services
from fangkong.screening.selfreport.services import SelfReportError, SelfReportInput

CONFIRMATION = re.compile(r"ZB-\d{8}-[23456789A-HJ-NP-Z]{6}")


def resident_id(sequence: int = 123, born: str = "19900101", region: str = "410302") -> str:
    first17 = f"{region}{born}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def report_input(tree, **changes) -> SelfReportInput:
    values = {
        "name": "李返乡",
        "document_kind": "resident_id",
        "document_number": resident_id(),
        "phone": "13812345678",
        "origin_name": "某市某区（中风险）",
        "arrived_on": timezone.localdate() - dt.timedelta(days=1),
        "community": tree["a"].path,
        "address": "东街 3 号 2 单元 401",
    }
    return SelfReportInput(**(values | changes))


def last_code(settings, phone: str = "13812345678") -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def send_and_submit(data, settings, capture, *, submission="token-1", ip_address="10.1.1.1"):
    with capture(execute=True):
        services.request_code(data, ip_address=ip_address)
    code = last_code(settings, phone=re.sub(r"\D", "", data.phone)[-11:])
    return services.submit_self_report(data, code=code, submission=submission, ip_address=ip_address)


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        PersonSource.objects.count(),
        PoolEntry.objects.count(),
        RiskReport.objects.count(),
        SelfReport.objects.count(),
        OneTimeCode.objects.count(),
        Message.objects.count(),
        AuditEntry.objects.count(),
    )


# register_person's public channel ------------------------------------------------------------------------------


def test_register_person_without_a_staff_user_is_the_public_channel_audited_as_system_from_the_web(tree):
    data = PersonInput(name="王自报", division=tree["b"].path, document_number=resident_id(7), phone="13900000007")
    with origin(Origin(channel="web", ip_address="10.9.9.9")):
        registration = register_person(data, source="self_report", reference="ZB-1", by=None)
    assert registration.created and registration.person.home_division_id == tree["b"].path
    entry = AuditEntry.objects.get(action="people.person.create")
    assert entry.actor is None and entry.actor_label == "system" and entry.origin == "web"
    assert entry.ip_address == "10.9.9.9"
    source = PersonSource.objects.get()
    assert source.source == "self_report" and source.recorded_by is None and source.data["document"].count("*") == 8


def test_staff_registration_still_needs_the_capability_and_the_jurisdiction(tree, make_user):
    data = PersonInput(name="王自报", division=tree["b"].path, phone="13900000007")
    with pytest.raises(PermissionDeniedError):
        register_person(data, source="manual", by=make_user(Role.LAB, "a"))
    with pytest.raises(DomainError) as error:
        register_person(data, source="manual", by=make_user(Role.COMMUNITY_WORKER, "a"))
    assert error.value.code == ErrorCode.PERMISSION_DENIED and error.value.field == "division"
    assert Person.objects.count() == 0
    register_person(data, source="manual", by=make_user(Role.COMMUNITY_WORKER, "b"))
    assert Person.objects.count() == 1


# the two steps --------------------------------------------------------------------------------------------------


def test_a_verified_report_registers_lists_and_routes_the_person_to_their_community(
    tree, settings, django_capture_on_commit_callbacks
):
    data = report_input(tree, community=tree["b"].path)
    result = send_and_submit(data, settings, django_capture_on_commit_callbacks)
    report = result.report
    assert result.created and CONFIRMATION.fullmatch(report.confirmation)
    assert report.confirmation[3:11] == timezone.localdate().strftime("%Y%m%d")
    assert report.phone_verified and report.division_id == tree["b"].path
    assert report.arrived_on == data.arrived_on and report.address == data.address
    person = Person.objects.get()
    assert person.primary_document_number == data.document_number and person.phone == "13812345678"
    assert person.home_division_id == tree["b"].path
    entry = PoolEntry.objects.get()
    assert report.entry == entry and entry.division_id == tree["b"].path and entry.reasons == ["arrival"]
    risk = RiskReport.objects.get()
    assert (risk.source, risk.reference, risk.reason) == ("self_report", report.confirmation, "arrival")
    assert risk.origin_name == data.origin_name and risk.arrived_at.date() == data.arrived_on
    assert risk.data["id_number"] == "410302********" + data.document_number[-4:]  # the ledger keeps it masked
    assert PersonSource.objects.get().reference == report.confirmation
    assert OneTimeCode.objects.get().used_at is not None
    audit = AuditEntry.objects.get(action="screening.selfreport.create")
    assert audit.actor_label == "system" and audit.division_path == tree["b"].path
    assert "13812345678" not in json.dumps(audit.changes)
    receipt = result.receipt
    assert receipt.name == "李*乡" and receipt.phone == "138****5678" and receipt.document_number.count("*") == 8


def test_the_same_form_sent_twice_is_one_report_with_one_confirmation(
    tree, settings, django_capture_on_commit_callbacks
):
    data = report_input(tree)
    first = send_and_submit(data, settings, django_capture_on_commit_callbacks)
    before = counts()
    code = last_code(settings)
    again = services.submit_self_report(data, code=code, submission="token-1", ip_address="10.1.1.1")
    assert not again.created and again.report.confirmation == first.report.confirmation
    assert counts() == before


def test_a_second_form_from_the_same_resident_adds_a_report_to_the_same_entry(
    tree, settings, django_capture_on_commit_callbacks
):
    first = send_and_submit(report_input(tree), settings, django_capture_on_commit_callbacks)
    cache.clear()
    OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    second = send_and_submit(report_input(tree), settings, django_capture_on_commit_callbacks, submission="token-2")
    assert second.created and second.report.confirmation != first.report.confirmation
    assert Person.objects.count() == 1 and PoolEntry.objects.count() == 1 and RiskReport.objects.count() == 2


def test_someone_already_in_the_registry_is_resolved_and_routed_to_the_community_they_report(
    tree, register, settings, django_capture_on_commit_callbacks
):
    known = register("a", name="李返乡", document_number=resident_id(), phone=None)
    result = send_and_submit(report_input(tree, community=tree["c"].path), settings, django_capture_on_commit_callbacks)
    assert result.report.person == known and Person.objects.count() == 1
    assert PoolEntry.objects.get().division_id == tree["c"].path  # where they say they are now
    assert Person.objects.get().phone == "13812345678"  # the verified phone fills the gap
    assert set(PersonSource.objects.filter(person=known).values_list("source", flat=True)) == {"test", "self_report"}


def test_a_wrong_code_writes_nothing_but_is_counted(tree, settings, django_capture_on_commit_callbacks):
    data = report_input(tree)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_code(data, ip_address=None)
    code = last_code(settings)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    before = counts()
    with pytest.raises(OtpError) as error:
        services.submit_self_report(data, code=wrong, submission="t", ip_address=None)
    assert error.value.field == "code"
    assert counts() == before and OneTimeCode.objects.get().attempts == 1
    assert services.submit_self_report(data, code=code, submission="t", ip_address=None).created


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"document_number": resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")}, "document_number"),
        ({"document_number": ""}, "document_number"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "010-12345678"}, "phone"),
        ({"arrived_on": timezone.localdate() + dt.timedelta(days=1)}, "arrived_on"),
        ({"arrived_on": None}, "arrived_on"),
        ({"community": "999999999999"}, "community"),
        ({"community": "410302001"}, "community"),  # a street, not a community
        ({"name": "  "}, "name"),
        ({"origin_name": ""}, "origin_name"),
        ({"address": ""}, "address"),
    ],
)
def test_invalid_details_name_the_field_and_write_nothing(tree, changes, field, django_capture_on_commit_callbacks):
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SelfReportError) as error:
        services.request_code(report_input(tree, **changes), ip_address="10.1.1.1")
    assert error.value.field == field
    assert counts() == before


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(min_value=-400, max_value=400))
def test_the_arrival_date_is_accepted_only_from_a_year_ago_to_today(tree, days):
    today = dt.date(2021, 10, 18)
    data = report_input(tree, arrived_on=today + dt.timedelta(days=days))
    if -366 <= days <= 0:
        assert services.validate_self_report(data, today=today).arrived_on == data.arrived_on
    else:
        with pytest.raises(SelfReportError) as error:
            services.validate_self_report(data, today=today)
        assert error.value.field == "arrived_on"


def test_confirmation_numbers_are_unguessable_and_unique(db):
    day = dt.date(2021, 10, 18)
    numbers = {services._new_confirmation(day) for _ in range(200)}
    assert len(numbers) == 200 and all(CONFIRMATION.fullmatch(n) and n.startswith("ZB-20211018-") for n in numbers)


def test_other_documents_are_accepted(tree, settings, django_capture_on_commit_callbacks):
    data = replace(report_input(tree), document_kind="passport", document_number="E12345678")
    result = send_and_submit(data, settings, django_capture_on_commit_callbacks)
    assert result.created and Person.objects.get().primary_document_kind == "passport"


def test_the_same_token_with_edited_details_is_a_new_report(tree, settings, django_capture_on_commit_callbacks):
    first = send_and_submit(report_input(tree), settings, django_capture_on_commit_callbacks)
    cache.clear()
    OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    relative = report_input(tree, name="李家人", document_number=resident_id(8))
    second = send_and_submit(relative, settings, django_capture_on_commit_callbacks)  # same token "token-1"
    assert second.created and second.report.confirmation != first.report.confirmation
    assert second.receipt.name == "李*人" and Person.objects.count() == 2
