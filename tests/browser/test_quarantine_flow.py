"""Quarantine in the browser: close contacts from the screening loop are placed into rooms, a staff member enters
a floor's morning readings in one screen (60 °C is refused first), a fever raises an alert, today's test list is
worked, a release becomes eligible and is issued with its certificate, and occupancy updates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.quarantine.models import Placement, ScheduledTest
from fangkong.quarantine.services import scheduled_tests
from fangkong.quarantine.tests.care_world import ready_site
from fangkong.screening.models import PoolEntry
from fangkong.tracing.services import confirm_contact, register_case
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


def _wait_for_htmx(page: Page) -> None:
    """Until htmx has finished its request, swap and settle (it marks elements with these classes meanwhile)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


@pytest.fixture
def scene(tree, register):
    hq = User.objects.create_user(username="flow-hq", role=Role.CITY_HQ, division=tree["city"])
    site = ready_site(hq, tree["street"], name="滨河酒店隔离点", rooms=3)
    case = register_case(
        register("a", name="病例丁", phone="13800000010"), kind="confirmed", first_positive_at=timezone.now(), by=hq
    )
    exposure = timezone.now() - timedelta(days=14)  # quarantine ends today under the 8th edition
    contacts = [
        register("a", name=name, phone=phone) for name, phone in (("密接甲", "13800000011"), ("密接乙", "13800000012"))
    ]
    for person in contacts:
        confirm_contact(case, person=person, last_exposure_at=exposure, by=hq)
    return {"site": site, "contacts": contacts, "hq": hq}


def test_place_monitor_test_release_and_occupancy(page: Page, live_server, make_user, scene):
    base = live_server.url
    staff = make_user(Role.QUARANTINE_SITE_MANAGER, "street")
    site = scene["site"]
    first, second = scene["contacts"]
    log_in(page, base, staff.username)

    # 1. Contacts from the screening loop are placed into rooms (already at the site).
    page.goto(f"{base}/quarantine/queue/")
    for person in (first, second):
        entry = PoolEntry.objects.get(person=person)
        page.get_by_test_id(f"choose-{entry.pk}").check()
    page.get_by_test_id("place-site").select_option(str(site.pk))
    page.get_by_test_id("place-arrived").check()
    page.get_by_test_id("place-submit").click()
    page.wait_for_load_state()
    placements = {p.person_id: p for p in Placement.objects.filter(status="placed")}
    assert set(placements) == {first.pk, second.pk}
    fever_room = placements[second.pk].room.number

    page.goto(f"{base}/quarantine/occupancy/")
    expect(
        page.locator(f'[data-testid="occupancy-site"][data-site="{site.pk}"] [data-testid="site-in-use"]')
    ).to_have_text("2")
    expect(page.get_by_test_id("forecast-chart")).to_have_attribute("data-rendered", "1")

    # Tests of the past days were done before today (recorded by the site's staff on those days).
    for placement in placements.values():
        for test in placement.tests.filter(phase="quarantine", day_number__lt=14):
            scheduled_tests.record_result(test, result="negative", reagent="A", by=staff)

    # 2. A floor's morning readings in one screen: a typing error is refused whole, then corrected.
    page.goto(f"{base}/quarantine/monitoring/")
    floor_id = placements[first.pk].room.floor_id
    page.get_by_test_id(f"floor-link-{floor_id}").click()
    page.get_by_test_id(f"temperature-{placements[first.pk].room.number}").fill("36.5")
    page.get_by_test_id(f"temperature-{fever_room}").fill("60")
    page.get_by_test_id(f"temperature-{fever_room}").press("Enter")
    expect(page.get_by_test_id("floor-error")).to_contain_text(fever_room)
    _wait_for_htmx(page)  # the swapped form focuses its first field once it settles: typing before that raced it
    assert not placements[first.pk].readings.exists()
    page.get_by_test_id(f"temperature-{fever_room}").fill("38.1")
    expect(page.get_by_test_id(f"temperature-{fever_room}")).to_have_value("38.1")
    expect(page.get_by_test_id(f"temperature-{placements[first.pk].room.number}")).to_have_value("36.5")
    page.get_by_test_id("save-readings").click()
    saved = page.get_by_test_id("floor-saved")
    expect(saved).to_have_attribute("data-saved", "2")
    expect(saved).to_have_attribute("data-alerts", "1")

    # 3. The fever raised an alert to the medical staff, with a test due now.
    page.goto(f"{base}/quarantine/monitoring/")
    alert = page.locator(f'[data-testid="alert-row"][data-placement="{placements[second.pk].pk}"]')
    expect(alert).to_have_attribute("data-kind", "fever")
    alert.get_by_test_id("alert-ack").click()

    # 4. Today's test list is worked inline: day 14 with two reagents, and the fever test.
    page.goto(f"{base}/quarantine/tests/?site={site.pk}")
    today_rows = page.get_by_test_id("tests-today").get_by_test_id("test-row")
    expect(today_rows).to_have_count(3)
    for index in range(3):
        row = page.get_by_test_id("tests-today").locator('[data-testid="test-row"][data-status="due"]').first
        row.get_by_test_id("test-reagent").fill("试剂A")
        second_reagent = row.get_by_test_id("test-second-reagent")
        if second_reagent.count():
            second_reagent.fill("试剂B")
        row.get_by_test_id("test-negative").click()
        expect(page.get_by_test_id("tests-today").locator('[data-status="done"]')).to_have_count(index + 1)
    assert not ScheduledTest.objects.filter(status="due", phase="quarantine").exists()

    # 5. The release is eligible and is issued with a printable certificate.
    page.goto(f"{base}/quarantine/release/?site={site.pk}")
    row = page.locator(f'[data-testid="release-row"][data-placement="{placements[first.pk].pk}"]')
    expect(row).to_have_attribute("data-eligible", "1")
    row.get_by_test_id("release-button").click()
    expect(page.get_by_test_id("certificate-name")).to_have_text("密接甲")
    expect(page.get_by_test_id("certificate-number")).to_contain_text("JG")
    assert PoolEntry.objects.get(person=first).state == "health_monitoring"

    # 6. Occupancy updates: one room is in use now.
    page.goto(f"{base}/quarantine/occupancy/")
    expect(
        page.locator(f'[data-testid="occupancy-site"][data-site="{site.pk}"] [data-testid="site-in-use"]')
    ).to_have_text("1")
