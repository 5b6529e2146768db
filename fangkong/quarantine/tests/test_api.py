"""The quarantine API: sites with occupancy and rooms, placing people from the ledger, masked placements."""

from __future__ import annotations

import pytest

from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.core.tokens import issue_token
from fangkong.quarantine.models import Placement
from fangkong.quarantine.tests.test_placement import ready_site
from fangkong.screening.services import list_person


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


def auth_for(user):
    _row, secret = issue_token(user, name="app", by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_placing_through_the_api_and_reading_back_masked(client, tree, hq, register, make_user):
    site = ready_site(hq, tree["county"], rooms=2)
    auth = auth_for(make_user(Role.COUNTY_HQ, "county"))
    person = register("a", name="张三", document_number="11010519491231002X", phone="13812345678")
    entry = list_person(person, reason="close_contact", source="manual", by=None).entry
    placed = client.post(
        "/api/quarantine/placements/",
        {"people": [{"entry_id": entry.pk, "start_date": "2021-08-01"}]},
        content_type="application/json",
        **auth,
    )
    assert placed.status_code == 200, placed.content
    [placement_id] = placed.json()["placed"]
    item = client.get(f"/api/quarantine/placements/{placement_id}", **auth).json()
    assert (item["phone_masked"], item["document_masked"]) == ("138****5678", "110105********002X")
    assert (item["edition_id"], item["quarantine_end"], item["test_days"]) == ("ed8", "2021-08-15", [1, 4, 7, 14])
    assert "13812345678" not in str(item) and "11010519491231002X" not in str(item)
    twice = client.post(
        "/api/quarantine/placements/",
        {"people": [{"entry_id": entry.pk}]},
        content_type="application/json",
        **auth,
    )
    assert twice.status_code == 400 and twice.json()["code"] == "already_placed" and twice.json()["row"] == 0
    sites = client.get("/api/quarantine/sites/", **auth).json()
    assert sites["count"] == 1 and (sites["items"][0]["free_count"], sites["items"][0]["occupied_count"]) == (1, 1)
    rooms = client.get(f"/api/quarantine/sites/{site.pk}/rooms", **auth).json()
    assert [r["number"] for r in rooms["items"]] == ["201", "202"]
    arrived = client.post(f"/api/quarantine/placements/{placement_id}/arrival", **auth)
    assert arrived.status_code == 200 and arrived.json()["status"] == "placed"
    assert Placement.objects.get().status == "placed"


def test_other_jurisdictions_sites_and_people_are_out_of_reach(client, tree, hq, register, make_user):
    site = ready_site(hq, tree["county"], rooms=1)
    auth = auth_for(make_user(Role.COUNTY_HQ, "county2"))
    assert client.get(f"/api/quarantine/sites/{site.pk}", **auth).status_code == 404
    entry = list_person(register("a", phone="13812340000"), reason="close_contact", source="manual", by=None).entry
    refused = client.post(
        "/api/quarantine/placements/", {"people": [{"entry_id": entry.pk}]}, content_type="application/json", **auth
    )
    assert refused.status_code == 400 and not Placement.objects.exists()
