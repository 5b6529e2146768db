from __future__ import annotations

from fangkong.core.roles import Role
from fangkong.core.tokens import issue_token
from fangkong.screening.services import list_person


def test_pool_api_lists_masked_entries_and_records_an_attempt(client, register, make_user):
    person = register("a", name="张三", document_number="11010519491231002X", phone="13812345678")
    entry = list_person(person, reason="arrival", source="manual", by=None).entry
    _row, secret = issue_token(make_user(Role.COMMUNITY_WORKER, "a"), name="app", by=None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    listing = client.get("/api/screening/entries/", **auth).json()
    assert listing["count"] == 1
    item = listing["items"][0]
    assert (item["phone_masked"], item["document_masked"], item["state"]) == (
        "138****5678",
        "110105********002X",
        "listed",
    )
    moved = client.post(
        f"/api/screening/entries/{entry.pk}/attempts",
        {"outcome": "located_home"},
        content_type="application/json",
        **auth,
    )
    assert moved.status_code == 200 and moved.json()["state"] == "located"
    bad = client.post(
        f"/api/screening/entries/{entry.pk}/attempts",
        {"outcome": "teleported"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "outcome"
