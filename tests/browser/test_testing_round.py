"""One mass-testing round end to end in the browser: a community worker samples twelve residents into
10-person tubes at the station and hands the tubes over; the lab confirms receipt and imports a result file
with one positive tube; the recall list reaches the community, which retests the ten people singly; the retest
results find the positive person; the county manager reconciles coverage and sees the untested people per
community; a resident of the negative tube shows their certificate at a checkpoint, which accepts it and
rejects a tampered copy."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from fangkong.core.identity import make_resident_id
from fangkong.core.models import Organization, OrganizationKind
from fangkong.core.roles import Role
from fangkong.testing import services
from fangkong.testing.models import RoundStatus, SiteKind, Tube
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


def sms_code(phone: str) -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def scan(page: Page, person: Any, tube: str, done: int) -> None:
    page.get_by_test_id("scan-person").fill(person.primary_document_number)
    page.get_by_test_id("scan-tube").fill(tube)
    page.get_by_test_id("scan-submit").click()
    expect(page.get_by_test_id("scan-ok")).to_contain_text(tube)
    expect(page.get_by_test_id("recent-samples").locator("tbody tr")).to_have_count(done)
    expect(page.get_by_test_id("recent-samples")).to_contain_text(person.name)


def switch_to(page: Page, base: str, user: Any) -> None:
    page.context.clear_cookies()
    log_in(page, base, user.username)


def hand_over(page: Page, base: str, site_id: int, round_id: int, lab_id: int, barcodes: list[str]) -> None:
    page.goto(f"{base}/testing/handovers/new/?site={site_id}&round={round_id}")
    page.select_option("select[name=lab]", str(lab_id))
    page.fill("textarea[name=barcodes]", "\n".join(barcodes))
    page.get_by_test_id("handover-submit").click()
    expect(page.get_by_test_id("handover-status")).to_have_attribute("data-status", "in_transit")


def receive(page: Page, barcodes: list[str]) -> None:
    page.fill("textarea[name=barcodes]", "\n".join(barcodes))
    page.get_by_test_id("receipt-submit").click()
    expect(page.get_by_test_id("handover-status")).to_have_attribute("data-status", "received")


def upload_results(page: Page, base: str, lab_id: int, path: Path, rows: list[tuple[str, str]]) -> None:
    lines = ["管号,结果,ORF1ab,N"] + [
        f"{barcode},{result},{'24.6' if result == '阳性' else ''},{'26.2' if result == '阳性' else ''}"
        for barcode, result in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.goto(f"{base}/testing/results/upload/")
    page.select_option("select[name=lab]", str(lab_id))
    page.set_input_files("input[name=file]", str(path))
    page.get_by_test_id("result-upload-submit").click()
    expect(page).to_have_url(re.compile(r"/testing/results/\d+/$"))


def test_a_round_end_to_end(
    page: Page, live_server: Any, make_user: Any, tree: dict[str, Any], register: Any, settings: Any, tmp_path: Path
) -> None:
    settings.CERTIFICATE_KEYS_DIR = tmp_path / "keys"
    cache.clear()
    base = live_server.url
    manager = make_user(Role.COUNTY_HQ, "county")
    lab = Organization.objects.create(name="老城区疾控实验室", kind=OrganizationKind.LAB, division=tree["county"])
    lab_user = make_user(Role.LAB, "county", organization=lab)
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    checkpoint = make_user(Role.CHECKPOINT_STAFF, "a")

    born = dt.date(1985, 6, 1)
    residents = [
        register(
            "a",
            name=f"东居民{i:02d}",
            document_number=make_resident_id("410302", born, 100 + i),
            phone=f"1381234{i:04d}",
        )
        for i in range(13)
    ]
    elsewhere = [
        register(
            "b", name=f"西居民{i}", document_number=make_resident_id("410302", born, 200 + i), phone=f"1391234{i:04d}"
        )
        for i in range(2)
    ]
    now = timezone.now()
    test_round = services.create_round(
        tree["county"],
        name="老城区第1轮",
        starts_at=now - dt.timedelta(hours=2),
        ends_at=now + dt.timedelta(days=1),
        by=manager,
        pool_size=10,
    )
    test_round = services.set_round_status(test_round, status=RoundStatus.OPEN, by=manager)
    site = services.create_site(tree["a"], name="东社区广场", kind=SiteKind.FIXED, hourly_capacity=200, by=manager)

    # Sampling: twelve residents of community A into two 10-person tubes; resident 12 does not come.
    switch_to(page, base, worker)
    page.goto(f"{base}/testing/station/?site={site.pk}&round={test_round.pk}")
    expect(page.get_by_test_id("station")).to_be_visible()
    pooled, second = "LC2201000001", "LC2201000002"
    for index, person in enumerate(residents[:12]):
        scan(page, person, pooled if index < 10 else second, done=index + 1)
        if index == 9:
            expect(page.get_by_test_id("tube-closed")).to_be_visible()
    assert Tube.objects.get(barcode=pooled).sample_count == 10
    hand_over(page, base, site.pk, test_round.pk, lab.pk, [pooled, second])

    # The lab confirms receipt and imports a file: the first tube is positive.
    handover_url = page.url
    switch_to(page, base, lab_user)
    page.goto(handover_url)
    receive(page, [pooled, second])
    upload_results(page, base, lab.pk, tmp_path / "results.csv", [(pooled, "阳性"), (second, "阴性")])

    # The recall list reaches community A: the ten people of the positive tube, each retested alone.
    switch_to(page, base, worker)
    page.goto(f"{base}/testing/recalls/")
    expect(
        page.get_by_test_id("recall-community").and_(page.locator(f"[data-division='{tree['a'].path}']"))
    ).to_be_visible()
    members = page.get_by_test_id("recall-member")
    expect(members).to_have_count(10)
    retest_tubes: dict[str, str] = {}
    for number, person in enumerate(residents[:10]):
        row = members.filter(has_text=person.name)
        barcode = f"RT2201{number:06d}"
        row.get_by_test_id("retest-barcode").fill(barcode)
        row.get_by_test_id("retest-submit").click()
        expect(members.filter(has_text=person.name)).to_have_attribute("data-status", "retest_sampled")
        retest_tubes[person.name] = barcode
    hand_over(page, base, site.pk, test_round.pk, lab.pk, list(retest_tubes.values()))
    handover_url = page.url

    # Single-tube results: resident 03 is the positive person.
    positive = residents[3]
    switch_to(page, base, lab_user)
    page.goto(handover_url)
    receive(page, list(retest_tubes.values()))
    upload_results(
        page,
        base,
        lab.pk,
        tmp_path / "retests.csv",
        [(barcode, "阳性" if name == positive.name else "阴性") for name, barcode in retest_tubes.items()],
    )
    switch_to(page, base, worker)
    page.goto(f"{base}/testing/recalls/?show=all")
    members = page.get_by_test_id("recall-member")
    expect(members.filter(has_text=positive.name)).to_have_attribute("data-status", "positive")
    expect(page.locator("[data-testid=recall-member][data-status=positive]")).to_have_count(1)
    expect(page.locator("[data-testid=recall-member][data-status=negative]")).to_have_count(9)

    # Coverage: the county manager reconciles; community A has one untested resident, community B two.
    switch_to(page, base, manager)
    page.goto(f"{base}/testing/rounds/{test_round.pk}/coverage/")
    expect(page.get_by_test_id("coverage-none")).to_be_visible()
    page.get_by_test_id("coverage-run").click()
    expect(page.get_by_test_id("coverage-tested")).to_have_text("12")
    expect(page.get_by_test_id(f"coverage-tested-{tree['a'].path}")).to_have_text("12")
    expect(page.get_by_test_id(f"coverage-untested-{tree['a'].path}")).to_have_text("1")
    expect(page.get_by_test_id(f"coverage-untested-{tree['b'].path}")).to_have_text("2")
    expect(page.get_by_test_id(f"untested-person-{residents[12].pk}")).to_be_visible()
    expect(page.get_by_test_id("untested-list")).not_to_contain_text(residents[12].primary_document_number)
    expect(page.get_by_test_id("coverage-hourly")).to_have_attribute("data-rendered", "1")
    page.get_by_test_id(f"coverage-community-{tree['b'].path}").click()
    for person in elsewhere:
        expect(page.get_by_test_id(f"untested-person-{person.pk}")).to_be_visible()
    expect(page.get_by_test_id(f"untested-person-{residents[12].pk}")).to_have_count(0)

    # A resident of the negative tube shows their certificate at a checkpoint; a tampered copy is refused.
    resident = residents[10]
    page.context.clear_cookies()
    page.goto(f"{base}/results/")
    page.fill("#id_document_number", resident.primary_document_number)
    page.fill("#id_phone", resident.phone)
    page.get_by_test_id("send-code").click()
    page.fill("#id_code", sms_code(resident.phone))
    page.get_by_test_id("show-results").click()
    expect(page.get_by_test_id("certificate")).to_have_attribute("data-result", "neg")
    text = page.get_by_test_id("certificate-text").input_value()
    switch_to(page, base, checkpoint)
    page.goto(f"{base}/certificates/verify/")
    page.fill("textarea[name=certificate]", text)
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-outcome", "valid")
    body = text.split(".")[2]
    tampered = text.replace(body, body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:])
    page.fill("textarea[name=certificate]", tampered)
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-outcome", "bad_signature")
