"""Venue check-ins end to end: a community worker registers a venue and prints its poster; a visitor scans the
code on a phone-sized screen and checks in with the code from the SMS; the worker enters two visitors from the
paper register; an investigator registers a case and confirms the venue co-visitor the platform suggests."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from fangkong.core.identity import check_character
from fangkong.core.roles import Role
from fangkong.people.models import PersonDocument
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


def resident_id(sequence: int) -> str:
    first17 = f"41030219900101{sequence:03d}"
    return first17 + check_character(first17)


def sms_code(phone: str) -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def local_input(moment) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_venue_its_check_ins_and_the_case_s_venue_contact(page: Page, live_server, make_user, tree):
    cache.clear()
    base = live_server.url
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    log_in(page, base, worker.username)

    page.goto(f"{base}/venues/new/")
    page.fill("#id_name", "东街老字号饭店")
    page.select_option("#id_category", "restaurant")
    page.select_option("#id_division", tree["a"].path)
    page.get_by_test_id("venue-save").click()
    code = page.get_by_test_id("venue-code").inner_text().strip()
    assert re.fullmatch(r"V[0-9A-Z]{9}", code)
    check_in_url = page.get_by_test_id("check-in-link").get_attribute("href")
    page.get_by_test_id("poster-link").click()
    expect(page.get_by_test_id("poster-qr").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("poster")).to_contain_text(code)

    # Two visitors from the paper register: the future case an hour ago, the other 50 minutes ago.
    now = timezone.now()
    for sequence, name, minutes_ago in ((1, "甲食客", 60), (2, "乙食客", 50)):
        page.goto(f"{base}/venues/")
        page.get_by_test_id("venue-row").filter(has_text=code).locator("a").click()
        page.fill("#id_name", name)
        page.fill("#id_document_number", resident_id(sequence))
        page.fill("#id_checked_in_at", local_input(now - timedelta(minutes=minutes_ago)))
        page.get_by_test_id("staff-check-in").click()
        expect(page.get_by_test_id("check-in-row").filter(has_text=name)).to_be_visible()
    expect(page.get_by_test_id("check-ins")).not_to_contain_text(resident_id(1))

    # A visitor scans the code with a phone.
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone = context.new_page()
    phone.goto(check_in_url)
    expect(phone.get_by_test_id("venue-name")).to_have_text("东街老字号饭店")
    phone.fill("#id_name", "丙食客")
    phone.fill("#id_document_number", resident_id(3))
    phone.fill("#id_phone", "13812340003")
    phone.get_by_test_id("send-code").click()
    expect(phone.get_by_test_id("code-sent")).to_contain_text("138****0003")
    phone.fill("#id_code", sms_code("13812340003"))
    phone.get_by_test_id("confirm-check-in").click()
    expect(phone.get_by_test_id("checked-in")).to_contain_text("东街老字号饭店")
    expect(phone.get_by_test_id("receipt")).not_to_contain_text(resident_id(3))
    phone.get_by_test_id("check-out").click()
    expect(phone.get_by_test_id("checked-out")).to_be_visible()
    context.close()

    # The investigator registers 甲 as a case: 乙 is suggested with the venue as evidence, and confirmed.
    investigator = make_user(Role.COUNTY_HQ, "county")
    case_person = PersonDocument.objects.get(number=resident_id(1)).person_id
    page.context.clear_cookies()
    log_in(page, base, investigator.username)
    page.goto(f"{base}/tracing/register/{case_person}/")
    page.fill("#id_first_positive_at", local_input(now))
    page.get_by_test_id("register-case").click()
    expect(page.get_by_test_id("venue-visit")).to_contain_text(code)
    suggestion = page.get_by_test_id("suggested").locator("tr").filter(has_text="乙食客")
    expect(suggestion).to_contain_text(code)
    suggestion.get_by_test_id("confirm-contact").click()
    expect(page.get_by_test_id("close-contacts")).to_contain_text("乙食客")
