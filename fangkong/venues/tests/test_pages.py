"""The venue pages: the public check-in page in its two steps (and its limits), the poster and QR code, the
staff pages with masked check-ins, and the case page's venue section."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from fangkong.core.identity import check_character
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.notify.models import OneTimeCode
from fangkong.people.models import Person
from fangkong.venues.models import CheckIn, CheckInSource, Venue
from fangkong.venues.services import VenueInput, _record, register_venue

ID = "410302199001011230"
ID = ID[:17] + check_character(ID[:17])
DETAILS = {"name": "王访客", "document_kind": "resident_id", "document_number": ID, "phone": "13812345678"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def venue(tree, make_user) -> Venue:
    return register_venue(
        VenueInput(name="东街健身房", category="gym", division=tree["a"].path), by=make_user(Role.CITY_HQ, "city")
    )


def last_code(settings: Any) -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", lines[-1]["text"]).group(0)


def test_scanning_the_code_checks_in_with_a_one_time_code(client, venue, settings, django_capture_on_commit_callbacks):
    page = client.get(f"/venues/c/{venue.code}/")
    assert page.status_code == 200 and "东街健身房" in page.content.decode()
    assert 'data-testid="details-form"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/venues/c/{venue.code}/", {**DETAILS, "action": "send"})
    body = sent.content.decode()
    assert sent.status_code == 200 and 'data-testid="code-form"' in body and "138****5678" in body
    submission = re.search(r'name="submission" value="([^"]+)"', body).group(1)
    form = {**DETAILS, "submission": submission, "code": last_code(settings), "action": "confirm"}
    done = client.post(f"/venues/c/{venue.code}/", form)
    assert done.status_code == 200 and 'data-testid="checked-in"' in done.content.decode()
    assert ID not in done.content.decode() and "13812345678" not in done.content.decode()
    again = client.post(f"/venues/c/{venue.code}/", form)  # a retry after a lost answer
    assert again.status_code == 200 and CheckIn.objects.count() == 1
    token = re.search(r'name="token" value="([^"]+)"', done.content.decode()).group(1)
    out = client.post(f"/venues/c/{venue.code}/out/", {"token": token})
    assert out.status_code == 200 and 'data-testid="checked-out"' in out.content.decode()
    assert CheckIn.objects.get().checked_out_at is not None


def test_the_public_page_names_the_field_and_sends_nothing_for_bad_details(client, venue):
    response = client.post(f"/venues/c/{venue.code}/", {**DETAILS, "phone": "123", "action": "send"})
    assert response.status_code == 400 and 'data-testid="error-phone"' in response.content.decode()
    assert OneTimeCode.objects.count() == 0


def test_asking_for_codes_too_often_is_limited(client, venue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/venues/c/{venue.code}/", {**DETAILS, "action": "send"})
        second = client.post(f"/venues/c/{venue.code}/", {**DETAILS, "action": "send"})
    assert second.status_code == 429 and second["Retry-After"]


def test_an_unknown_code_is_not_found_and_a_wrong_check_out_token_changes_nothing(client, venue):
    assert client.get("/venues/c/VNOSUCHCOD/").status_code == 404
    response = client.post(f"/venues/c/{venue.code}/out/", {"token": "forged"})
    assert response.status_code == 400


def test_the_poster_carries_the_qr_code_of_the_check_in_page(client, venue, make_user):
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    poster = client.get(f"/venues/{venue.pk}/poster/")
    body = poster.content.decode()
    assert poster.status_code == 200 and "<svg" in body and venue.code in body
    assert f"/venues/c/{venue.code}/" in body
    svg = client.get(f"/venues/{venue.pk}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_staff_register_a_venue_check_a_visitor_in_and_out_and_see_them_masked(client, tree, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    client.force_login(worker)
    created = client.post(
        "/venues/new/", {"name": "东街饭店", "category": "restaurant", "division": tree["a"].path, "is_active": "on"}
    )
    assert created.status_code == 302
    venue = Venue.objects.get(name="东街饭店")
    assert venue.dwell_minutes == 60
    page = client.get(created["Location"])
    submission = re.search(r'name="submission" value="([^"]+)"', page.content.decode()).group(1)
    checked = client.post(
        f"/venues/{venue.pk}/check-in/",
        {
            "name": "赵老人",
            "document_kind": "resident_id",
            "document_number": ID,
            "phone": "",
            "submission": submission,
        },
    )
    assert checked.status_code == 302
    check_in = CheckIn.objects.get()
    assert check_in.source == CheckInSource.STAFF and check_in.recorded_by == worker
    listing = client.get(f"/venues/{venue.pk}/").content.decode()
    assert "赵老人" in listing and ID not in listing and ID[:6] + "********" + ID[-4:] in listing
    assert client.post(f"/venues/check-ins/{check_in.pk}/out/").status_code == 302
    check_in.refresh_from_db()
    assert check_in.checked_out_at is not None
    assert AuditEntry.objects.filter(action="venues.checkin.checkout", target_id=str(check_in.pk)).exists()


def test_the_venue_list_is_scoped(client, tree, make_user, venue):
    other = register_venue(
        VenueInput(name="西街网吧", category="internet_cafe", division=tree["b"].path),
        by=make_user(Role.CITY_HQ, "city"),
    )
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    body = client.get("/venues/").content.decode()
    assert venue.name in body and other.name not in body


def test_the_list_and_venue_pages_take_a_fixed_number_of_queries(
    client, tree, make_user, venue, django_assert_max_num_queries
):
    hq = make_user(Role.CITY_HQ, "city")
    for index in range(12):
        register_venue(VenueInput(name=f"店{index}", category="restaurant", division=tree["a"].path), by=hq)
        visitor = Person.objects.create(name=f"客{index}", phone=f"1370000{index:04d}", home_division_id=tree["a"].path)
        _record(
            venue,
            person=visitor,
            checked_in_at=timezone.now() - timedelta(minutes=index),
            checked_out_at=None,
            source="staff",
            reference=str(index),
            by=hq,
        )
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    with django_assert_max_num_queries(12):
        listing = client.get("/venues/")
    assert listing.status_code == 200 and listing.content.decode().count('data-testid="venue-row"') == 13
    with django_assert_max_num_queries(12):
        assert client.get(f"/venues/{venue.pk}/").status_code == 200
