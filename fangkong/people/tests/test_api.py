from __future__ import annotations

import pytest

from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.core.tokens import issue_token, revoke_token
from fangkong.people.models import Person

ID_A = "11010519491231002X"


@pytest.fixture
def token(make_user):
    user = make_user(Role.API_CLIENT, "street")
    _row, secret = issue_token(user, name="test", by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_token_client_registers_and_lists_people_masked(client, tree, token):
    payload = {
        "name": "张三",
        "division": tree["a"].path,
        "document_number": ID_A,
        "phone": "13812345678",
        "source": "device-7",
        "reference": "batch-1:1",
    }
    created = client.post("/api/people/", payload, content_type="application/json", **token)
    assert created.status_code == 201, created.content
    again = client.post("/api/people/", payload, content_type="application/json", **token)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]  # a retry changes nothing
    assert Person.objects.count() == 1

    listing = client.get("/api/people/?limit=10", **token).json()
    assert listing["count"] == 1
    item = listing["items"][0]
    assert item["document_number_masked"] == "110105********002X" and item["phone_masked"] == "138****5678"
    assert ID_A not in str(listing) and "13812345678" not in str(listing)


def test_validation_errors_name_the_field(client, tree, token):
    bad = client.post(
        "/api/people/",
        {"name": "张三", "division": tree["a"].path, "document_number": "110105194912310021"},
        content_type="application/json",
        **token,
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "document_number" and bad.json()["code"] == "invalid"
    schema = client.post("/api/people/", {"division": tree["a"].path}, content_type="application/json", **token)
    assert schema.status_code == 422 and schema.json()["field"] == "name"
    assert Person.objects.count() == 0


def test_reveal_over_api_is_audited(client, tree, make_user, register):
    person = register("a", document_number=ID_A)
    user = make_user(Role.COMMUNITY_WORKER, "a")
    client.force_login(user)
    refused = client.post(
        f"/api/people/{person.pk}/reveal", {"field": "document", "reason": ""}, content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    shown = client.post(
        f"/api/people/{person.pk}/reveal", {"field": "document", "reason": "核对身份"}, content_type="application/json"
    )
    assert shown.json() == {"field": "document", "value": ID_A}
    assert AuditEntry.objects.filter(action="people.person.reveal_document", actor=user).count() == 1


def test_revoked_or_bad_tokens_are_refused(client, make_user):
    user = make_user(Role.API_CLIENT, "city")
    row, secret = issue_token(user, name="t", by=None)
    assert client.get("/api/people/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    revoke_token(row, by=None)
    response = client.get("/api/people/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert client.get("/api/people/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_openapi_schema_is_published(client, db):
    schema = client.get("/api/openapi.json").json()
    assert "/api/people/" in schema["paths"] and "/api/people/{person_id}/reveal" in schema["paths"]
