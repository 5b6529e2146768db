"""The care pages: floor entry (HTMX), self-report link, today's tests, release and certificate, home, occupancy."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.quarantine.models import Reading, ReleaseCertificate
from fangkong.quarantine.models import TestPhase as Phase
from fangkong.quarantine.services import monitoring, scheduled_tests
from fangkong.quarantine.tests.care_world import floor_of, listed, place, ready_site


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def world(hq, register, tree, make_user, client):
    site = ready_site(hq, tree["street"])
    placements = place(hq, register, site, days_ago=14, n=2)
    staff = make_user(Role.QUARANTINE_SITE_MANAGER, "street")
    client.force_login(staff)
    return site, placements, staff


def floor_post(placements, *temperatures):
    data = {"on": timezone.localdate().isoformat(), "slot": "morning", "placement": [p.pk for p in placements]}
    for placement, value in zip(placements, temperatures, strict=True):
        data[f"temperature-{placement.pk}"] = value
        data[f"symptom-{placement.pk}"] = ""
    return data


def test_floor_screen_saves_the_floor_in_one_htmx_submit(client, world):
    _site, placements, _staff = world
    url = reverse("quarantine:floor_readings", args=[floor_of(placements[0]).pk])
    page = client.get(url)
    assert page.status_code == 200 and page.content.decode().count('data-testid="reading-row"') == 2
    response = client.post(url, floor_post(placements, "36.5", "37.8"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="floor-saved"' in body and 'data-alerts="1"' in body
    assert "<html" not in body  # a fragment for HTMX
    assert Reading.objects.count() == 2


def test_floor_screen_refuses_60_degrees_naming_the_room_and_keeps_what_was_typed(client, world):
    _site, placements, _staff = world
    url = reverse("quarantine:floor_readings", args=[floor_of(placements[0]).pk])
    response = client.post(url, floor_post(placements, "36.5", "60"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 400
    assert f"room {placements[1].room.number}" in body and 'value="60"' in body and 'value="36.5"' in body
    assert 'data-testid="row-error"' in body
    assert not Reading.objects.exists()


def test_the_self_report_page_works_without_login(client, world):
    _site, placements, _staff = world
    client.logout()
    token = monitoring.report_token(placements[0], on=timezone.localdate(), slot="morning")
    url = reverse("quarantine:self_report", args=[token])
    assert client.get(url).status_code == 200
    assert client.post(url, {"temperature": "60"}).status_code == 400
    response = client.post(url, {"temperature": "36.4", "symptoms": ["cough"]})
    assert 'data-testid="report-done"' in response.content.decode()
    assert client.get(reverse("quarantine:self_report", args=["forged"])).status_code == 404


def test_tests_page_works_a_row_inline(client, world):
    _site, placements, _staff = world
    test = placements[0].tests.get(day_number=1)
    page = client.get(reverse("quarantine:tests_today"))
    assert page.status_code == 200 and 'data-testid="tests-today"' in page.content.decode()
    url = reverse("quarantine:test_record", args=[test.pk])
    response = client.post(url, {"result": "negative", "reagent": "A"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="done"' in response.content.decode()
    again = client.post(url, {"result": "negative", "reagent": "A"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and 'data-testid="test-error"' in again.content.decode()


def test_release_refused_then_issued_with_a_printable_certificate(client, world, django_assert_max_num_queries):
    _site, placements, staff = world
    placement = placements[0]
    url = reverse("quarantine:release_placement", args=[placement.pk])
    refused = client.post(url)
    assert refused.status_code == 400 and "days 1, 4, 7, 14" in refused.content.decode()
    for test in placement.tests.filter(phase=Phase.QUARANTINE):
        scheduled_tests.record_result(test, result="negative", reagent="A", second_reagent="B", by=staff)
    with django_assert_max_num_queries(40):
        listing = client.get(reverse("quarantine:release_list"))
    assert 'data-eligible="1"' in listing.content.decode()
    response = client.post(url)
    certificate = ReleaseCertificate.objects.get(placement=placement)
    assert response.status_code == 302 and response["Location"] == reverse(
        "quarantine:certificate", args=[certificate.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert certificate.number in page and placement.person.name in page


def test_home_page_check_in_and_violation(client, hq, register, tree, make_user):
    from fangkong.core.policy import set_active_edition
    from fangkong.quarantine.models import HomeCheckIn, Violation
    from fangkong.quarantine.services.placement import PlacementRequest, place_contacts

    set_active_edition(tree["city"], edition_id="ed9", overrides={}, by=hq)  # secondary contacts: home quarantine
    result = place_contacts([PlacementRequest(entry=listed(register, "a", "secondary_contact"))], by=hq)
    placement = result.home[0]
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    page = client.get(reverse("quarantine:home_care"))
    assert 'data-testid="home-row"' in page.content.decode()
    client.post(reverse("quarantine:home_check_in", args=[placement.pk]), {"method": "phone", "is_at_home": "0"})
    assert HomeCheckIn.objects.get(placement=placement).is_at_home is False
    assert Violation.objects.get(placement=placement).kind == "left_home"
    client.post(
        reverse("quarantine:home_violation", args=[placement.pk]), {"kind": "visitor", "description": "亲戚来访"}
    )
    assert Violation.objects.filter(placement=placement).count() == 2


def test_occupancy_page(client, world):
    response = client.get(reverse("quarantine:occupancy"))
    body = response.content.decode()
    assert response.status_code == 200 and 'id="forecast-data"' in body and 'data-testid="occupancy-site"' in body


def test_the_home_community_records_a_monitoring_test_from_its_home_page(client, world, make_user):
    from fangkong.quarantine.services import release

    _site, placements, staff = world
    placement = placements[0]
    for test in placement.tests.filter(phase=Phase.QUARANTINE):
        scheduled_tests.record_result(test, result="negative", reagent="A", second_reagent="B", by=staff)
    release.release_placement(placement, by=staff)
    test = placement.tests.get(phase=Phase.MONITORING, day_number=16)
    test.due_on = timezone.localdate()
    test.save(update_fields=["due_on"])
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    page = client.get(reverse("quarantine:home_care")).content.decode()
    assert 'data-testid="home-test"' in page
    url = reverse("quarantine:test_record", args=[test.pk])
    response = client.post(url, {"result": "negative", "reagent": "A", "next": reverse("quarantine:home_care")})
    assert response.status_code == 302 and response["Location"] == reverse("quarantine:home_care")
    test.refresh_from_db()
    assert (test.status, test.result) == ("done", "negative")
