"""Flows a user clicks through, in Debian's Chromium: log in, search a person, reveal with a reason and find
the reveal in the audit log; switch to English; the dashboard chart renders."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from fangkong.core.roles import Role

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-only"


@pytest.fixture
def people(tree, register):
    return {
        "zhang": register("a", name="张三", document_number="11010519491231002X", phone="13812345678"),
        "other": register("b", name="王五", document_number="440524188001010014", phone="13987654321"),
    }


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.get_by_test_id("who")).to_be_visible()


def test_search_reveal_and_audit(page: Page, live_server, make_user, people):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    county = make_user(Role.COUNTY_HQ, "county")
    log_in(page, live_server.url, worker.username)

    page.goto(f"{live_server.url}/people/")
    page.get_by_test_id("search-input").fill("5678")
    page.get_by_test_id("search-input").press("Enter")
    table = page.get_by_test_id("people-table")
    expect(table).to_contain_text("张三")
    expect(table).to_contain_text("138****5678")
    expect(table).not_to_contain_text("王五")  # community B is outside this worker's jurisdiction

    page.get_by_role("link", name="张三").click()
    expect(page.get_by_test_id("masked-document")).to_contain_text("110105********002X")
    page.select_option("select[name=field]", "document")
    page.get_by_test_id("reveal-reason").fill("入户核查身份")
    page.get_by_test_id("reveal-button").click()
    expect(page.get_by_test_id("revealed-value")).to_have_text("11010519491231002X")

    page.context.clear_cookies()
    log_in(page, live_server.url, county.username)
    page.goto(f"{live_server.url}/core/audit/?action=people.person.reveal")
    audit = page.get_by_test_id("audit-table")
    expect(audit).to_contain_text(worker.username)
    expect(audit).to_contain_text("入户核查身份")
    expect(audit).to_contain_text("people.person.reveal_document")


def test_dashboard_in_chinese_then_english(page: Page, live_server, make_user, people):
    hq = make_user(Role.CITY_HQ, "city")
    log_in(page, live_server.url, hq.username)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("count-people")).to_have_text("2")
    expect(page.locator("body")).to_contain_text("仪表盘")
    expect(page.get_by_test_id("chart")).to_have_attribute("data-rendered", "1", timeout=10000)
    box = page.get_by_test_id("chart").bounding_box()
    assert box is not None and box["height"] > 200  # the stylesheet is served and the chart has room
    assert page.locator("canvas").count() >= 1
    page.get_by_test_id("lang-en").click()
    expect(page.locator("body")).to_contain_text("Dashboard")
    expect(page.locator("html")).to_have_attribute("lang", re.compile("en"))


def test_scenario_plan_runs_and_draws_bands(page: Page, live_server, make_user, tree):
    officer = make_user(Role.HEALTH_DEPARTMENT, "city")
    log_in(page, live_server.url, officer.username)
    page.goto(f"{live_server.url}/command/plan/")
    page.get_by_label(re.compile("detection_only")).check()
    page.fill("#id_seeds", "2")
    page.fill("#id_people", "10000")
    page.fill("#id_days", "20")
    page.get_by_test_id("plan-run").click()
    expect(page.get_by_test_id("plan-summary")).to_contain_text("peak_beds", timeout=60000)
    expect(page.get_by_test_id("plan-chart")).to_have_attribute("data-rendered", "1", timeout=10000)
