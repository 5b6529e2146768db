"""The quarantine API: sites with occupancy and rooms, placing people from the ledger (and one contact, safe to
retry), masked placements, a floor's readings, a site's tests and their results, release; another county's
officer gets 404 for every record."""

from __future__ import annotations

import json

import pytest

from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.core.tokens import issue_token
from fangkong.quarantine.models import Placement, Reading, ReleaseCertificate, ScheduledTest, WaitlistEntry
from fangkong.quarantine.selectors import placement as placement_selectors
from fangkong.quarantine.services import placement as placement_services
from fangkong.quarantine.services import scheduled_tests
from fangkong.quarantine.tests import care_world
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


# ---------------------------------------------------------------------------------- one contact, retries


def post(client, url, body, auth):
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def test_placing_one_contact_is_safe_to_retry(client, tree, hq, register, make_user):
    ready_site(hq, tree["county"], rooms=1)
    auth = auth_for(make_user(Role.COUNTY_HQ, "county"))
    entry = list_person(register("a", phone="13812345678"), reason="close_contact", source="manual", by=None).entry
    url = f"/api/quarantine/entries/{entry.pk}/placement"
    first = post(client, url, {"start_date": "2021-08-01"}, auth)
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["outcome"], body["replayed"], body["waiting"]) == ("placed", False, None)
    assert body["placement"]["phone_masked"] == "138****5678" and "13812345678" not in first.content.decode()
    assert "Idempotent-Replayed" not in first
    audit_rows = AuditEntry.objects.count()
    again = post(client, url, {"start_date": "2021-08-01"}, auth)  # the answer was lost: the client retries
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["replayed"] is True and again.json()["placement"]["id"] == body["placement"]["id"]
    assert Placement.objects.count() == 1 and AuditEntry.objects.count() == audit_rows
    # The site is now full: the next contact waits, and a retry finds the same waitlist entry.
    other = list_person(register("a", phone="13812340001"), reason="close_contact", source="manual", by=None).entry
    waiting = post(client, f"/api/quarantine/entries/{other.pk}/placement", {}, auth)
    assert waiting.status_code == 201 and waiting.json()["outcome"] == "waitlisted"
    retried = post(client, f"/api/quarantine/entries/{other.pk}/placement", {}, auth)
    assert retried.status_code == 200 and retried.json()["waiting"]["id"] == waiting.json()["waiting"]["id"]
    assert WaitlistEntry.objects.count() == 1


def test_two_attempts_at_once_the_loser_returns_the_winners_placement(tree, hq, register, monkeypatch):
    """The second of two simultaneous calls passes the first look-up, then meets the placement the first made
    (the service refuses it as already placed) and answers with that placement instead of an error."""
    ready_site(hq, tree["county"], rooms=2)
    entry = list_person(register("a", phone="13812345670"), reason="close_contact", source="manual", by=None).entry
    winner = placement_services.place_contacts([entry], by=hq).placed[0]
    real = placement_selectors.placement_from_entry
    looks: list[object] = []

    def first_look_misses(found_entry):
        looks.append(found_entry)
        return None if len(looks) == 1 else real(found_entry)

    monkeypatch.setattr(placement_selectors, "placement_from_entry", first_look_misses)
    done = placement_services.place_contact(entry, by=hq)
    assert len(looks) == 2  # missed, refused as already placed, found
    assert done.replayed and done.placement == winner and Placement.objects.count() == 1


def test_placing_a_contact_is_refused_with_field_and_code(client, tree, hq, register, make_user):
    ready_site(hq, tree["county"], rooms=1)
    auth = auth_for(make_user(Role.COUNTY_HQ, "county"))
    entry = list_person(register("a", phone="13812340002"), reason="close_contact", source="manual", by=None).entry
    url = f"/api/quarantine/entries/{entry.pk}/placement"
    bad_type = post(client, url, {"room_type": "penthouse"}, auth)
    assert bad_type.status_code == 400
    assert (bad_type.json()["code"], bad_type.json()["field"]) == ("invalid", "room_type")
    bad_date = post(client, url, {"start_date": "yesterday"}, auth)
    assert bad_date.status_code == 422 and bad_date.json()["field"] == "start_date"
    supervisor = auth_for(make_user(Role.SUPERVISOR, "county"))  # may view quarantine, not place
    denied = post(client, url, {}, supervisor)
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert not Placement.objects.exists() and not WaitlistEntry.objects.exists()


def test_another_countys_officer_gets_404_for_every_record(client, tree, hq, register, make_user):
    site = ready_site(hq, tree["county"], rooms=2)
    entry = list_person(register("a", phone="13812340003"), reason="close_contact", source="manual", by=None).entry
    placement = placement_services.place_contacts([entry], by=hq, arrived=True).placed[0]
    test = ScheduledTest.objects.filter(placement=placement).first()
    auth = auth_for(make_user(Role.COUNTY_HQ, "county2"))
    before = (Placement.objects.count(), AuditEntry.objects.count())
    refused = [
        post(client, f"/api/quarantine/entries/{entry.pk}/placement", {}, auth),
        client.get(f"/api/quarantine/floors/{placement.room.floor_id}/readings", **auth),
        post(client, f"/api/quarantine/floors/{placement.room.floor_id}/readings", {"slot": "morning"}, auth),
        client.get(f"/api/quarantine/sites/{site.pk}/tests", **auth),
        post(client, f"/api/quarantine/tests/{test.pk}/result", {"result": "negative"}, auth),
        client.get(f"/api/quarantine/placements/{placement.pk}/release", **auth),
        post(client, f"/api/quarantine/placements/{placement.pk}/release", {}, auth),
    ]
    assert [r.status_code for r in refused] == [404] * 7
    assert all(r.json()["code"] == "not_found" for r in refused)
    assert (Placement.objects.count(), AuditEntry.objects.count()) == before
    listed = client.get("/api/quarantine/placements/", **auth).json()
    assert listed["count"] == 0


# ---------------------------------------------------------------------------------------- placements list


def test_placements_are_listed_masked_and_filtered_by_site_and_status(client, tree, hq, register, make_user):
    one = ready_site(hq, tree["county"], "一号", rooms=1)
    two = ready_site(hq, tree["county"], "二号", rooms=1)
    people = [
        register("a", name="李四", document_number="11010519491231002X", phone="13912340001"),
        register("a", name="王五", phone="13912340002"),
    ]
    entries = [list_person(p, reason="close_contact", source="manual", by=None).entry for p in people]
    first = placement_services.place_contacts([entries[0]], by=hq, sites=[one]).placed[0]
    placement_services.place_contacts([entries[1]], by=hq, sites=[two], arrived=True)
    auth = auth_for(make_user(Role.COUNTY_HQ, "county"))
    everyone = client.get("/api/quarantine/placements/", **auth)
    assert everyone.json()["count"] == 2 and "11010519491231002X" not in everyone.content.decode()
    assert {i["document_masked"] for i in everyone.json()["items"]} == {"110105********002X", ""}
    assert "13912340001" not in everyone.content.decode()
    at_one = client.get(f"/api/quarantine/placements/?site_id={one.pk}", **auth).json()
    assert [i["id"] for i in at_one["items"]] == [first.pk]
    waiting = client.get("/api/quarantine/placements/?status=waiting", **auth).json()
    assert [i["id"] for i in waiting["items"]] == [first.pk]
    bad = client.get("/api/quarantine/placements/?status=gone", **auth)
    assert bad.status_code == 422 and bad.json()["field"] == "status"


# ------------------------------------------------------------------------------------ monitoring readings


@pytest.fixture
def care(tree, hq, register, make_user):
    """A site in the county with two people in quarantine on one floor, and a site manager's token."""
    site = care_world.ready_site(hq, tree["county"])
    people = care_world.place(hq, register, site, days_ago=3, n=2)
    manager = make_user(Role.QUARANTINE_SITE_MANAGER, "county")
    return {"site": site, "people": people, "floor": care_world.floor_of(people[0]), "auth": auth_for(manager)}


def test_a_floors_readings_are_listed_and_recorded_all_or_nothing(client, care):
    auth, floor, (p1, p2) = care["auth"], care["floor"], care["people"]
    url = f"/api/quarantine/floors/{floor.pk}/readings"
    listed = client.get(f"{url}?slot=morning", **auth)
    assert listed.status_code == 200
    rows = listed.json()["rows"]
    assert [r["placement_id"] for r in rows] == [p1.pk, p2.pk] and rows[0]["day"] == 3
    assert rows[0]["temperature"] is None and rows[0]["phone_masked"].count("*") == 4
    assert p1.person.phone not in listed.content.decode()
    bad = post(
        client,
        url,
        {
            "slot": "morning",
            "readings": [{"placement_id": p1.pk, "temperature": 36.6}, {"placement_id": p2.pk, "temperature": "60"}],
        },
        auth,
    )
    assert bad.status_code == 400
    error = bad.json()
    assert (error["code"], error["field"], error["row"]) == ("temperature", "temperature", 2)
    assert [(d["row"], d["field"]) for d in error["details"]] == [(2, "temperature")]
    assert not Reading.objects.exists()
    two_decimals = post(
        client, url, {"slot": "morning", "readings": [{"placement_id": p1.pk, "temperature": 36.55}]}, auth
    )
    assert two_decimals.status_code == 400 and two_decimals.json()["row"] == 1
    good = post(
        client,
        url,
        {
            "slot": "morning",
            "readings": [{"placement_id": p1.pk, "temperature": 36.6}, {"placement_id": p2.pk, "temperature": "38.1"}],
        },
        auth,
    )
    assert good.status_code == 200, good.content
    assert (good.json()["saved"], good.json()["skipped"]) == (2, 0)
    [alert] = good.json()["alerts"]
    assert (alert["placement_id"], alert["kind"]) == (p2.pk, "fever") and alert["test_id"]
    after = client.get(f"{url}?slot=morning", **auth).json()["rows"]
    assert [(r["temperature"], r["is_abnormal"]) for r in after] == [("36.6", False), ("38.1", True)]
    missing_slot = post(client, url, {"readings": []}, auth)
    assert missing_slot.status_code == 422 and missing_slot.json()["field"] == "slot"


# ---------------------------------------------------------------------------------------- scheduled tests


def test_todays_tests_for_a_site_and_recording_a_result(client, tree, hq, register, make_user):
    site = care_world.ready_site(hq, tree["county"])
    [placement] = care_world.place(hq, register, site, days_ago=4)  # ed8: day 4 is a test day
    auth = auth_for(make_user(Role.QUARANTINE_SITE_MANAGER, "county"))
    listed = client.get(f"/api/quarantine/sites/{site.pk}/tests", **auth)
    assert listed.status_code == 200
    due, overdue = listed.json()["due"], listed.json()["overdue"]
    assert [(t["placement_id"], t["day_number"], t["status"]) for t in due] == [(placement.pk, 4, "due")]
    assert [t["day_number"] for t in overdue] == [1]  # day 1's test was never done
    assert (
        due[0]["phone_masked"] == placement.person.masked_phone
        and placement.person.phone not in listed.content.decode()
    )
    url = f"/api/quarantine/tests/{due[0]['id']}/result"
    wrong = post(client, url, {"result": "maybe"}, auth)
    assert wrong.status_code == 400 and (wrong.json()["code"], wrong.json()["field"]) == ("result", "result")
    done = post(client, url, {"result": "negative", "reagent": "试剂A"}, auth)
    assert done.status_code == 200, done.content
    assert (done.json()["test"]["status"], done.json()["test"]["result"], done.json()["case_number"]) == (
        "done",
        "negative",
        None,
    )
    twice = post(client, url, {"result": "negative"}, auth)
    assert twice.status_code == 400 and (twice.json()["code"], twice.json()["field"]) == ("test_state", "test")
    missing = post(client, url, {}, auth)
    assert missing.status_code == 422 and missing.json()["field"] == "result"


def test_a_positive_result_through_the_api_registers_a_case_and_a_transfer(client, tree, hq, register, make_user):
    site = care_world.ready_site(hq, tree["county"])
    [placement] = care_world.place(hq, register, site, days_ago=4)
    auth = auth_for(make_user(Role.QUARANTINE_SITE_MANAGER, "county"))
    test = ScheduledTest.objects.get(placement=placement, day_number=4)
    done = post(client, f"/api/quarantine/tests/{test.pk}/result", {"result": "positive"}, auth)
    assert done.status_code == 200 and done.json()["case_number"] and done.json()["transfer_id"]
    placement.refresh_from_db()
    assert placement.status == "transferred"


# ------------------------------------------------------------------------------------------------ release


def test_release_eligibility_and_release_refused_with_the_reason(client, tree, hq, register, make_user):
    site = care_world.ready_site(hq, tree["county"])
    [early] = care_world.place(hq, register, site, days_ago=10)
    auth = auth_for(make_user(Role.QUARANTINE_SITE_MANAGER, "county"))
    url = f"/api/quarantine/placements/{early.pk}/release"
    eligibility = client.get(url, **auth).json()
    assert eligibility["eligible"] is False and (eligibility["days_served"], eligibility["days_required"]) == (10, 14)
    assert [b["code"] for b in eligibility["blockers"]] == ["too_early", "tests_outstanding", "second_reagent"]
    assert "10 of 14 days served" in eligibility["reason"]
    before = AuditEntry.objects.count()
    refused = post(client, url, {}, auth)
    assert refused.status_code == 400
    error = refused.json()
    assert (error["code"], error["field"]) == ("not_eligible", "placement") and "10 of 14 days served" in error[
        "message"
    ]
    assert [d["code"] for d in error["details"]] == ["too_early", "tests_outstanding", "second_reagent"]
    assert not ReleaseCertificate.objects.exists() and AuditEntry.objects.count() == before


def test_release_once_eligible_issues_the_certificate(client, tree, hq, register, make_user):
    site = care_world.ready_site(hq, tree["county"])
    [placement] = care_world.place(hq, register, site, days_ago=14)
    manager = make_user(Role.QUARANTINE_SITE_MANAGER, "county")
    for test in ScheduledTest.objects.filter(placement=placement, phase="quarantine"):
        scheduled_tests.record_result(test, result="negative", reagent="试剂A", second_reagent="试剂B", by=manager)
    auth = auth_for(manager)
    url = f"/api/quarantine/placements/{placement.pk}/release"
    eligibility = client.get(url, **auth).json()
    assert eligibility["eligible"] is True and eligibility["blockers"] == [] and eligibility["reason"] == ""
    released = post(client, url, {}, auth)
    assert released.status_code == 201, released.content
    certificate = released.json()
    assert (certificate["placement_id"], certificate["days_served"], certificate["edition_id"]) == (
        placement.pk,
        14,
        "ed8",
    )
    assert ReleaseCertificate.objects.get().number == certificate["number"]
    again = post(client, url, {}, auth)
    assert again.status_code == 400 and again.json()["code"] == "not_eligible"


def test_the_api_is_in_the_openapi_schema_with_its_bodies_and_errors(client):
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/api/quarantine/entries/{entry_id}/placement", "post"),
        ("/api/quarantine/floors/{floor_id}/readings", "post"),
        ("/api/quarantine/tests/{test_id}/result", "post"),
    ]:
        operation = paths[path][method]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
        assert {"400", "404", "422"} <= set(operation["responses"])
    assert "/api/quarantine/sites/{site_id}/tests" in paths
    assert set(paths["/api/quarantine/placements/{placement_id}/release"]) == {"get", "post"}
