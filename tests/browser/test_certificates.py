"""A resident fetches their certificate on a phone with the SMS code; a checkpoint verifies it (and refuses a
tampered copy); the county HQ sees the turnaround chart on the dashboard and the capacity planner's answer."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from fangkong.core.identity import make_resident_id
from fangkong.core.roles import Role
from fangkong.testing.tests.certificate_rows import sample
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


def sms_code(phone: str) -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def test_certificate_from_the_resident_page_to_the_checkpoint(
    page: Page, live_server, make_user, tree, register, settings, tmp_path
):
    settings.CERTIFICATE_KEYS_DIR = tmp_path / "keys"
    cache.clear()
    base = live_server.url
    id_number = make_resident_id("410302", date(1979, 3, 4), 55)
    person = register("a", name="周核酸", document_number=id_number, phone="13855556666")
    sample(person, tree=tree, sampled_at=timezone.now() - timedelta(hours=20))

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/results/")
    page.fill("#id_document_number", id_number)
    page.fill("#id_phone", "13855556666")
    page.get_by_test_id("send-code").click()
    expect(page.get_by_test_id("code-sent")).to_contain_text("138****6666")
    page.fill("#id_code", sms_code("13855556666"))
    page.get_by_test_id("show-results").click()
    expect(page.get_by_test_id("certificate")).to_have_attribute("data-result", "neg")
    expect(page.get_by_test_id("certificate-qr").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("identity")).not_to_contain_text(id_number)
    text = page.get_by_test_id("certificate-text").input_value()
    assert text.startswith("FK1.")

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, make_user(Role.CHECKPOINT_STAFF, "a").username)
    page.goto(f"{base}/certificates/verify/")
    page.fill("textarea[name=certificate]", text)
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-outcome", "valid")
    expect(page.get_by_test_id("verdict-claims")).to_contain_text("周*酸")

    body = text.split(".")[2]
    tampered = text.replace(body, body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:])
    page.fill("textarea[name=certificate]", tampered)
    page.press("textarea[name=certificate]", "Enter")  # as a hand-held scanner ends its input
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-outcome", "bad_signature")
    expect(page.get_by_test_id("verdict-panel")).not_to_contain_text("周*酸")


def test_turnaround_chart_and_planner(page: Page, live_server, make_user, tree, register):
    base = live_server.url
    person = register("a", name="吴采样", phone="13877778888")
    swab = sample(person, tree=tree, sampled_at=timezone.now() - timedelta(hours=15))
    log_in(page, base, make_user(Role.COUNTY_HQ, "county").username)
    page.goto(f"{base}/")
    expect(page.get_by_test_id("turnaround-panel")).to_be_visible()
    expect(page.get_by_test_id("turnaround-chart")).to_have_attribute("data-rendered", "1")

    page.goto(f"{base}/testing/planner/")
    page.fill("#id_population", "1000000")
    page.fill("#id_sampling_points", "500")
    page.fill("#id_people_per_point_per_hour", "100")
    page.fill("#id_runs_per_day", "6")
    page.fill("#id_tubes_per_run", "5000")
    page.fill("#id_lab_tubes_per_day", "200000")
    page.get_by_test_id("plan").click()
    expect(page.get_by_test_id("planner-result")).to_have_attribute("data-bottleneck", "transport")

    page.goto(f"{base}/testing/rounds/{swab.round_id}/coverage/")
    expect(page.get_by_test_id("round-plan")).to_be_visible()
    expect(page.get_by_test_id("round-plan-chart")).to_have_attribute("data-rendered", "1")
