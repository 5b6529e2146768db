"""The closed loop in the browser: a community worker locates a listed person in one tap; an investigator
registers a case, confirms suggested contacts and sees close and secondary contacts with their dates; the
"nobody missed" counts move."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fangkong.core.roles import Role
from fangkong.people.models import Person
from fangkong.screening.services import list_person
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def scene(tree, register):
    arrival = register("a", name="返乡者", phone="13811112222")
    list_person(arrival, reason="arrival", source="manual", by=None)
    case_person = register("a", name="病例甲", phone="13800000001", address="东街1号")
    spouse = register("a", name="配偶乙", phone="13800000002", address="东街1号")
    flatmate = register("b", name="室友丙", phone="13800000003")
    Person.objects.filter(pk__in=[case_person.pk, spouse.pk]).update(household_key="h1")
    Person.objects.filter(pk__in=[spouse.pk, flatmate.pk]).update(workplace_key="w9")
    Person.objects.filter(pk=flatmate.pk).update(household_key="h2")
    Person.objects.filter(pk=spouse.pk).update(household_key="h1")
    return {"arrival": arrival, "case": case_person, "spouse": spouse, "flatmate": flatmate}


def report_count(page: Page, code: str, column: str) -> str:
    return page.locator(f'[data-testid="report-row-{code}"] [data-col="{column}"]').inner_text()


def test_locate_register_case_confirm_contacts_and_watch_the_counts(page: Page, live_server, make_user, tree, scene):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    county = make_user(Role.COUNTY_HQ, "county")
    base = live_server.url

    log_in(page, base, county.username)
    page.goto(f"{base}/screening/report/?parent={tree['street'].path}")
    assert report_count(page, tree["a"].code, "listed") == "1"
    assert report_count(page, tree["a"].code, "located") == "0"

    page.context.clear_cookies()
    log_in(page, base, worker.username)
    page.goto(f"{base}/screening/")
    row = page.get_by_test_id("entry-row").filter(has_text="返乡者")
    row.get_by_test_id("located-home").click()
    expect(page.get_by_test_id("entry-row").filter(has_text="返乡者").get_by_test_id("entry-state")).to_have_text(
        "已落位"
    )

    page.context.clear_cookies()
    log_in(page, base, county.username)
    page.goto(f"{base}/screening/report/?parent={tree['street'].path}")
    assert report_count(page, tree["a"].code, "located") == "1"

    page.goto(f"{base}/people/{scene['case'].pk}/")
    page.get_by_test_id("register-case-link").click()
    page.fill("#id_first_positive_at", "2021-08-03T09:00")
    page.get_by_test_id("register-case").click()
    expect(page.get_by_test_id("clocks")).to_contain_text("轨迹")
    suggested = page.get_by_test_id("suggested")
    expect(suggested).to_contain_text("配偶乙")
    suggested.locator("tr", has_text="配偶乙").get_by_test_id("confirm-contact").click()
    expect(page.get_by_test_id("close-contacts")).to_contain_text("配偶乙")
    expect(page.get_by_test_id("close-contacts").get_by_test_id("quarantine-until")).not_to_be_empty()
    # The spouse's co-worker is now a suggested secondary contact (the 8th edition derives them).
    page.get_by_test_id("suggested").locator("tr", has_text="室友丙").get_by_test_id("confirm-contact").click()
    expect(page.get_by_test_id("secondary-contacts")).to_contain_text("室友丙")

    page.goto(f"{base}/screening/report/?parent={tree['street'].path}")
    assert report_count(page, tree["a"].code, "listed") == "2"  # the arrival and the spouse
    assert report_count(page, tree["b"].code, "listed") == "1"  # the secondary contact lives in community B


def test_a_duplicate_from_two_sources_is_resolved_in_the_merge_queue(page: Page, live_server, make_user, register):
    register("a", name="重复者", phone="13855556666", address="东街3号")
    register("b", name="重复者", phone="13855556666")  # a second source, no shared document: a merge candidate
    street = make_user(Role.STREET_OFFICE, "street")
    log_in(page, live_server.url, street.username)
    page.goto(f"{live_server.url}/people/merges/")
    expect(page.get_by_test_id("merge-table")).to_contain_text("重复者")
    page.get_by_role("button", name="同一人：合并").click()
    expect(page.get_by_test_id("merge-table")).not_to_contain_text("重复者")
    assert Person.objects.filter(name="重复者", merged_into__isnull=True).count() == 1
