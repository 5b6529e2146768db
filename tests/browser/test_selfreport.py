"""A resident reports their arrival on a phone-sized screen: the form, the code from the SMS, the confirmation
number; then the community worker of that community finds the person on the work list."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from fangkong.core.identity import check_character
from fangkong.core.roles import Role
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


def sms_code(phone: str) -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def test_a_resident_reports_and_the_community_worker_sees_them(page: Page, live_server, make_user, tree):
    cache.clear()
    base = live_server.url
    first17 = "41030219900101123"
    id_number = first17 + check_character(first17)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{base}/report/")
    page.fill("#id_name", "赵返乡")
    page.fill("#id_document_number", id_number)
    page.fill("#id_phone", "13812340000")
    page.fill("#id_origin_name", "某市高风险区")
    page.fill("#id_arrived_on", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.select_option("#id_community", tree["a"].path)
    page.fill("#id_address", "东街 8 号 1 单元 101")
    page.get_by_test_id("send-code").click()

    expect(page.get_by_test_id("code-sent")).to_contain_text("138****0000")
    page.fill("#id_code", sms_code("13812340000"))
    page.get_by_test_id("submit-report").click()

    confirmation = page.get_by_test_id("confirmation")
    expect(confirmation).to_have_text(re.compile(r"ZB-\d{8}-[0-9A-Z]{6}"))
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_contain_text("赵*乡")
    expect(receipt).not_to_contain_text(id_number)
    number = confirmation.inner_text()

    worker = make_user(Role.COMMUNITY_WORKER, "a")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, worker.username)
    page.goto(f"{base}/screening/")
    expect(page.get_by_test_id("entry-row").filter(has_text="赵返乡")).to_be_visible()
    page.goto(f"{base}/report/list/")
    expect(page.get_by_test_id("selfreport-row").filter(has_text=number)).to_contain_text("赵返乡")
