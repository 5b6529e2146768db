"""Certificates end to end on the platform: keys and rotation, what a certificate states, the checkpoint
verifier page and API (with the policy edition's hours, audited without identity), and the public results page
with its one-time code."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.cache import cache
from django.utils import timezone

from fangkong.core.identity import make_resident_id
from fangkong.core.models import AuditEntry
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.notify.models import OneTimeCode
from fangkong.testing.certificates import keys
from fangkong.testing.certificates.codec import Outcome, ResultCode, kid_for, sign_certificate
from fangkong.testing.certificates.selectors import certificate_basis
from fangkong.testing.certificates.services import issue_certificate, verify_presented_certificate
from fangkong.testing.models import MemberStatus, RecallMember, ResultValue, SamplePurpose
from fangkong.testing.tests.certificate_rows import sample

ID_A = make_resident_id("410302", date(1980, 5, 17), 123)
PHONE_A = "13811112222"


@pytest.fixture(autouse=True)
def _keys_and_cache(settings, tmp_path):
    settings.CERTIFICATE_KEYS_DIR = tmp_path / "certificate-keys"
    settings.CERTIFICATE_PRIVATE_KEY = ""
    settings.CERTIFICATE_AUTOGENERATE_KEY = True
    settings.CERTIFICATE_ISSUER = "示范市防控指挥部"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resident(register):
    return register("a", name="李明乡", document_number=ID_A, phone=PHONE_A)


def hours_ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


# Keys -------------------------------------------------------------------------------------------------------


def test_the_first_certificate_generates_a_key_that_is_published_never_in_the_repository(settings, resident, tree):
    sample(resident, tree=tree, sampled_at=hours_ago(10))
    issued = issue_certificate(resident)
    files = sorted(p.name for p in settings.CERTIFICATE_KEYS_DIR.iterdir())
    assert files == sorted(["active", f"{issued.kid}.key.pem", f"{issued.kid}.pub.pem"])
    assert (settings.CERTIFICATE_KEYS_DIR / f"{issued.kid}.key.pem").stat().st_mode & 0o077 == 0
    published = keys.published_key_set()
    assert [key["kid"] for key in published["keys"]] == [issued.kid]
    assert published["keys"][0]["kty"] == "OKP" and published["keys"][0]["crv"] == "Ed25519"
    assert "d" not in published["keys"][0]  # never the private part


def test_without_autogeneration_a_missing_key_is_a_clear_error(settings, resident, tree):
    settings.CERTIFICATE_AUTOGENERATE_KEY = False
    sample(resident, tree=tree, sampled_at=hours_ago(10))
    with pytest.raises(keys.NoSigningKeyError):
        issue_certificate(resident)


def test_a_key_from_the_environment_signs_and_is_published(settings, resident, tree):
    key = Ed25519PrivateKey.generate()
    settings.CERTIFICATE_PRIVATE_KEY = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    sample(resident, tree=tree, sampled_at=hours_ago(10))
    issued = issue_certificate(resident)
    assert issued.kid == kid_for(key.public_key())
    assert issued.kid in keys.public_keys()
    assert not settings.CERTIFICATE_KEYS_DIR.exists()  # nothing written to disk


def test_rotation_generate_activate_retire_remove(resident, tree, make_user):
    checkpoint = make_user(Role.CHECKPOINT_STAFF, "a")
    sample(resident, tree=tree, sampled_at=hours_ago(10))
    old = issue_certificate(resident)
    new_kid = keys.generate_key()
    assert keys.signing_key()[0] == old.kid  # published first, not yet signing
    assert new_kid in keys.public_keys()
    keys.activate_key(new_kid)
    new = issue_certificate(resident)
    assert new.kid == new_kid
    with pytest.raises(keys.CertificateKeyError):
        keys.retire_key(new_kid)  # the active key cannot be retired
    with pytest.raises(keys.CertificateKeyError):
        keys.remove_key(old.kid)  # retire first
    keys.retire_key(old.kid)
    assert verify_presented_certificate(old.text, by=checkpoint).is_pass  # still verifies what it signed
    keys.remove_key(old.kid)
    assert verify_presented_certificate(old.text, by=checkpoint).verification.outcome is Outcome.UNKNOWN_KEY
    assert verify_presented_certificate(new.text, by=checkpoint).is_pass


def test_the_management_command_lists_and_generates(settings, capsys):
    from django.core.management import call_command

    call_command("certificate_keys", "generate", "--activate")
    out = capsys.readouterr().out
    kid = re.search(r"generated (\S+)", out).group(1)
    assert f"{kid}  " in out and "active" in out
    call_command("certificate_keys", "list")
    assert kid in capsys.readouterr().out


# What a certificate states ---------------------------------------------------------------------------------


def test_before_any_result_there_is_no_certificate(resident, tree):
    sample(resident, tree=tree, sampled_at=hours_ago(2), result=None)
    assert certificate_basis(resident) is None and issue_certificate(resident) is None


def test_the_newest_result_decides(resident, tree):
    sample(resident, tree=tree, sampled_at=hours_ago(60), result=ResultValue.NEGATIVE)
    newest = sample(resident, tree=tree, sampled_at=hours_ago(20), result=ResultValue.NEGATIVE)
    sample(resident, tree=tree, sampled_at=hours_ago(2), result=None)  # not back yet: does not count
    basis = certificate_basis(resident)
    assert basis.sample_id == newest.pk and basis.result is ResultCode.NEGATIVE


def test_a_positive_pool_is_not_negative_until_the_retest_resolves(resident, tree):
    pooled = sample(resident, tree=tree, sampled_at=hours_ago(30), result=ResultValue.POSITIVE)
    assert certificate_basis(resident).result is ResultCode.POOL_POSITIVE
    # Another pool of a later round came back negative: still not a pass while the recall is open.
    sample(resident, tree=tree, sampled_at=hours_ago(5), result=ResultValue.NEGATIVE)
    basis = certificate_basis(resident)
    assert basis.result is ResultCode.POOL_POSITIVE and basis.sample_id == pooled.pk
    # The single-tube retest is negative: the member is resolved, and the retest is the newest result.
    retest = sample(
        resident,
        tree=tree,
        sampled_at=hours_ago(3),
        capacity=1,
        purpose=SamplePurpose.RETEST,
        resulted_after=timedelta(hours=1),
    )
    RecallMember.objects.filter(person=resident).update(status=MemberStatus.NEGATIVE, resolved_at=timezone.now())
    basis = certificate_basis(resident)
    assert basis.result is ResultCode.NEGATIVE and basis.sample_id == retest.pk


def test_a_positive_single_tube_is_positive(resident, tree):
    sample(resident, tree=tree, sampled_at=hours_ago(5), capacity=1, result=ResultValue.POSITIVE)
    assert certificate_basis(resident).result is ResultCode.POSITIVE


def test_a_certificate_is_audited_with_its_serial_and_holds_the_identity_masked(resident, tree):
    swab = sample(resident, tree=tree, sampled_at=hours_ago(10))
    issued = issue_certificate(resident)
    assert issued.claims.document == "410302********" + ID_A[-4:] and issued.claims.name == "李*乡"
    assert issued.claims.lab == "示范市第一检测实验室" and issued.claims.issuer == "示范市防控指挥部"
    entry = AuditEntry.objects.get(action="testing.certificate.issue")
    assert entry.target_id == str(resident.pk)
    assert entry.changes["serial"][1] == issued.claims.serial and entry.changes["sample"][1] == swab.pk
    assert ID_A not in json.dumps(entry.changes)


# The checkpoint ---------------------------------------------------------------------------------------------


def test_verification_applies_the_checkpoints_policy_hours_and_is_audited_without_identity(resident, tree, make_user):
    hq = make_user(Role.CITY_HQ, "city")
    checkpoint = make_user(Role.CHECKPOINT_STAFF, "a")
    sample(resident, tree=tree, sampled_at=hours_ago(30))
    issued = issue_certificate(resident)
    check = verify_presented_certificate(issued.text, by=checkpoint)
    assert check.is_pass and check.valid_hours == 48
    set_active_edition(tree["city"], edition_id="ed9", overrides={"certificate": {"valid_hours": 24}}, by=hq)
    check = verify_presented_certificate(issued.text, by=checkpoint)
    assert check.verification.outcome is Outcome.EXPIRED and check.valid_hours == 24
    assert "24" in check.message
    entries = AuditEntry.objects.filter(action="testing.certificate.verify").order_by("id")
    assert [e.changes["outcome"][1] for e in entries] == ["valid", "expired"]
    assert entries[0].actor == checkpoint and entries[0].target_id == issued.claims.serial
    assert all(ID_A not in json.dumps(e.changes) and "李明乡" not in json.dumps(e.changes) for e in entries)


def test_the_verifier_page_passes_a_genuine_certificate_and_rejects_a_tampered_one(client, resident, tree, make_user):
    sample(resident, tree=tree, sampled_at=hours_ago(10))
    issued = issue_certificate(resident)
    client.force_login(make_user(Role.CHECKPOINT_STAFF, "a"))
    assert client.get("/certificates/verify/").status_code == 200
    page = client.post("/certificates/verify/", {"certificate": issued.text}).content.decode()
    assert 'data-outcome="valid"' in page and "李*乡" in page and ID_A not in page
    body_start = len("FK1.") + 13
    tampered = (
        issued.text[:body_start] + ("B" if issued.text[body_start] == "A" else "A") + issued.text[body_start + 1 :]
    )
    page = client.post("/certificates/verify/", {"certificate": tampered}).content.decode()
    assert 'data-outcome="bad_signature"' in page and "李*乡" not in page  # unsigned claims are never shown
    assert 'data-outcome="malformed"' in client.post("/certificates/verify/", {"certificate": "hello"}).content.decode()
    assert client.post("/certificates/verify/", {"certificate": ""}).status_code == 400


def test_a_positive_certificate_shows_not_a_pass(client, resident, tree, make_user):
    sample(resident, tree=tree, sampled_at=hours_ago(3), capacity=1, result=ResultValue.POSITIVE)
    issued = issue_certificate(resident)
    client.force_login(make_user(Role.CHECKPOINT_STAFF, "a"))
    page = client.post("/certificates/verify/", {"certificate": issued.text}).content.decode()
    assert 'data-outcome="not_negative"' in page and "verdict fail" in page


def test_roles_without_the_verify_capability_cannot_verify(client, make_user):
    client.force_login(make_user(Role.LAB, "a"))
    assert client.get("/certificates/verify/").status_code == 403


def test_the_api_verifies_and_names_the_reason(client, resident, tree, make_user):
    sample(resident, tree=tree, sampled_at=hours_ago(49))
    issued = issue_certificate(resident)
    client.force_login(make_user(Role.API_CLIENT, "a"))

    def post(text: str) -> dict:
        response = client.post("/api/certificates/verify", {"certificate": text}, content_type="application/json")
        assert response.status_code == 200
        return response.json()

    expired = post(issued.text)
    assert expired["is_pass"] is False and expired["outcome"] == "expired"
    assert expired["claims"]["document"].startswith("410302****") and expired["claims"]["result"] == "neg"
    foreign = sign_certificate(issued.claims, key=Ed25519PrivateKey.generate())
    assert post(foreign) | {"message": ""} == post(foreign) | {"message": ""}
    assert post(foreign)["outcome"] == "unknown_key" and post(foreign)["claims"] is None
    assert post("FK1.x")["outcome"] == "malformed"
    before = AuditEntry.objects.count()
    empty = client.post("/api/certificates/verify", {}, content_type="application/json")
    assert empty.status_code == 400 and empty.json()["field"] == "certificate"
    assert AuditEntry.objects.count() == before


def test_the_public_key_set_is_public_json(client, resident, tree):
    response = client.get("/certificates/keys.json")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["format"] == "FK1" and len(body["keys"]) == 1 and body["keys"][0]["alg"] == "EdDSA"


# The resident's page ----------------------------------------------------------------------------------------


def codes_sent(settings, phone: str) -> list[str]:
    if not settings.SMS_FILE_PATH.exists():
        return []
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return [re.search(r"\d{6}", line["text"]).group(0) for line in lines if line["phone"] == phone]


def ask_code(client, capture, document: str, phone: str, ip: str = "10.0.0.1"):
    with capture(execute=True):
        return client.post(
            "/results/",
            {"action": "send", "document_kind": "resident_id", "document_number": document, "phone": phone},
            REMOTE_ADDR=ip,
        )


def confirm(client, document: str, phone: str, code: str, ip: str = "10.0.0.1"):
    data = {"action": "confirm", "document_kind": "resident_id", "document_number": document, "phone": phone}
    return client.post("/results/", {**data, "code": code}, REMOTE_ADDR=ip)


def test_a_resident_sees_their_results_and_certificate_with_the_sms_code(
    client, settings, resident, tree, django_capture_on_commit_callbacks
):
    sample(resident, tree=tree, sampled_at=hours_ago(30), result=ResultValue.NEGATIVE)
    sample(resident, tree=tree, sampled_at=hours_ago(2), result=None)
    assert client.get("/results/").status_code == 200
    step = ask_code(client, django_capture_on_commit_callbacks, ID_A, PHONE_A)
    assert 'data-testid="code-sent"' in step.content.decode() and "138****2222" in step.content.decode()
    (code,) = codes_sent(settings, PHONE_A)
    page = confirm(client, ID_A, PHONE_A, code).content.decode()
    assert 'data-testid="certificate"' in page and 'data-result="neg"' in page and "<svg" in page
    assert page.count('data-status="') == 2 and 'data-status="pending"' in page
    assert ID_A not in page and PHONE_A not in page and "李*乡" in page
    text = re.search(r'data-testid="certificate-text"[^>]*>([^<]+)<', page).group(1).strip()
    assert text.startswith("FK1.")
    assert AuditEntry.objects.filter(action="testing.results.lookup", target_id=str(resident.pk)).exists()


def test_a_wrong_code_is_refused_and_shows_nothing(
    client, settings, resident, tree, django_capture_on_commit_callbacks
):
    sample(resident, tree=tree, sampled_at=hours_ago(30))
    ask_code(client, django_capture_on_commit_callbacks, ID_A, PHONE_A)
    (code,) = codes_sent(settings, PHONE_A)
    wrong = "000000" if code != "000000" else "111111"
    response = confirm(client, ID_A, PHONE_A, wrong)
    page = response.content.decode()
    assert response.status_code == 400 and 'data-testid="error-code"' in page
    assert 'data-testid="certificate"' not in page
    assert OneTimeCode.objects.get().attempts == 1  # the failed try was counted
    assert not AuditEntry.objects.filter(action__startswith="testing.").exists()


def test_unknown_ids_and_other_phones_get_the_same_answers(
    client, settings, resident, tree, django_capture_on_commit_callbacks
):
    sample(resident, tree=tree, sampled_at=hours_ago(30))
    unknown_id = make_resident_id("410302", date(1985, 1, 2), 77)
    other_phone = "13933334444"
    pages = []
    for document, phone in ((unknown_id, PHONE_A), (ID_A, other_phone)):
        cache.clear()
        step = ask_code(client, django_capture_on_commit_callbacks, document, phone)
        assert step.status_code == 200 and 'data-testid="code-sent"' in step.content.decode()
        code = codes_sent(settings, phone)[-1]  # a code is sent whatever the registry holds
        page = confirm(client, document, phone, code).content.decode()
        assert 'data-testid="no-results"' in page and 'data-testid="certificate"' not in page
        pages.append(re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', "", page))
    assert pages[0] == pages[1]


def test_asking_codes_is_rate_limited(client, settings, resident, django_capture_on_commit_callbacks):
    assert ask_code(client, django_capture_on_commit_callbacks, ID_A, PHONE_A).status_code == 200
    again = ask_code(client, django_capture_on_commit_callbacks, ID_A, PHONE_A)
    assert again.status_code == 429 and int(again["Retry-After"]) > 0
    assert len(codes_sent(settings, PHONE_A)) == 1


def test_tries_are_rate_limited_per_address(
    client, settings, resident, django_capture_on_commit_callbacks, monkeypatch
):
    from fangkong.notify import otp

    monkeypatch.setattr(otp, "MAX_CHECKS_PER_IP_PER_HOUR", 3)
    ask_code(client, django_capture_on_commit_callbacks, ID_A, PHONE_A, ip="10.9.9.9")
    statuses = [confirm(client, ID_A, PHONE_A, "123456", ip="10.9.9.9").status_code for _ in range(4)]
    assert statuses[-1] == 429


def test_bad_input_names_the_field_and_sends_nothing(client, settings, django_capture_on_commit_callbacks, db):
    response = ask_code(
        client, django_capture_on_commit_callbacks, ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1"), PHONE_A
    )
    assert response.status_code == 400 and 'data-testid="error-document_number"' in response.content.decode()
    response = ask_code(client, django_capture_on_commit_callbacks, ID_A, "12345")
    assert response.status_code == 400 and 'data-testid="error-phone"' in response.content.decode()
    assert codes_sent(settings, PHONE_A) == []
