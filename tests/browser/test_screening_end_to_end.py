"""Issue 4 end to end, one story in the browser: a county officer imports a messy GBK .csv from the police and
an .xlsx assistance list (first with errors: the error report; then fixed), a duplicate the lists created
is merged in the merge queue, a community worker locates a listed person, the listed person turns out to be
a case, the investigator confirms the suggested contacts and sees close and secondary contacts with their
quarantine and test dates — and the "nobody missed" counts move at every step."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect

from fangkong.core.identity import make_resident_id
from fangkong.core.roles import Role
from fangkong.people.models import MergeCandidate, Person
from fangkong.screening.models import PoolEntry
from fangkong.screening.tests.test_imports import HEADERS, ID1, MESSY_ROWS
from tests.browser.test_foundation_flows import log_in
from tests.browser.test_loop_and_tracing import report_count
from tests.browser.test_screening_imports import upload

pytestmark = pytest.mark.browser

ZHAO_ID = make_resident_id("410302", date(1979, 9, 9), 405)  # 赵六, known to the police list by mobile only
QIAN_ID = make_resident_id("410302", date(1992, 2, 2), 88)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def household(tree: dict[str, Any], register: Any) -> dict[str, Person]:
    """The registry before the lists arrive (a household register extract): 张三 lives with 配偶乙, who works
    with 室友丙 of community B."""
    zhang = register("a", name="张三", document_number=ID1, phone="13812345678", address="东街1号")
    spouse = register("a", name="配偶乙", phone="13800000002", address="东街1号")
    coworker = register("b", name="室友丙", phone="13800000003")
    Person.objects.filter(pk__in=[zhang.pk, spouse.pk]).update(household_key="h1")
    Person.objects.filter(pk__in=[spouse.pk, coworker.pk]).update(workplace_key="w9")
    Person.objects.filter(pk=coworker.pk).update(household_key="h2")
    return {"zhang": zhang, "spouse": spouse, "coworker": coworker}


def counts(page: Page, base: str, street: str, codes: dict[str, str]) -> dict[str, dict[str, int]]:
    """The "nobody missed" report for the street: listed and located per community."""
    page.goto(f"{base}/screening/report/?parent={street}")
    expect(page.get_by_test_id("report-table")).to_be_visible()
    return {
        name: {column: int(report_count(page, code, column)) for column in ("listed", "located", "unlocated")}
        for name, code in codes.items()
    }


def xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def start_and_wait(page: Page, status: str) -> None:
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-status", status, timeout=30_000)


def test_lists_to_contacts_nobody_missed(page: Page, live_server, make_user, tree, household, tmp_path):
    base = live_server.url
    officer = make_user(Role.COUNTY_HQ, "city")
    street_office = make_user(Role.STREET_OFFICE, "street")
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    street = tree["street"].path
    codes = {"a": tree["a"].code, "b": tree["b"].code}

    log_in(page, base, officer.username)
    before = counts(page, base, street, codes)
    assert before["a"]["listed"] == 0 and before["b"]["listed"] == 0

    # 1. The police list: GBK, full-width digits, grouped mobiles, four date shapes, a repeated person.
    csv_path = tmp_path / "公安推送.csv"
    csv_path.write_bytes(("\r\n".join(",".join(r) for r in [HEADERS, *MESSY_ROWS]) + "\r\n").encode("gbk"))
    upload(page, base, csv_path)
    expect(page.get_by_test_id("samples")).to_contain_text("410302********" + ID1[-4:])  # masked
    start_and_wait(page, "succeeded")
    expect(page.get_by_test_id("import-result")).to_contain_text("5")
    after_csv = counts(page, base, street, codes)
    # 张三 (rows 1 and 5, resolved onto the registry's record) in A; 赵六 (mobile only, address 西社区) in B.
    assert after_csv["a"]["listed"] == 1 and after_csv["b"]["listed"] == 1

    # 2. An assistance list (.xlsx) with errors: nothing is imported, every bad row is in the error report.
    broken = xlsx(
        tmp_path / "协查函.xlsx",
        [
            [1, "赵六", ZHAO_ID, "13733334444", "上海", "2021-08-04", "西社区7号楼"],
            [2, "钱七", float(QIAN_ID[:15] + "000"), "13800001111", "上海", "2021-08-03", "西社区"],  # Excel damage
            [3, "", "", "", "", "2021-13-45", ""],
        ],
    )
    upload(page, base, broken)
    start_and_wait(page, "failed")
    expect(page.get_by_test_id("errors")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("error-report").click()
    report = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True).active
    assert report is not None
    failing_rows = sorted({row[0] for row in list(report.iter_rows(values_only=True))[1:]})
    assert failing_rows == [3, 4]
    assert counts(page, base, street, codes) == after_csv

    # 3. The fixed list imports. 赵六 now comes with an ID number: a new record with the name and mobile of
    # the police list's 赵六 and no shared document — a possible duplicate for the merge queue.
    fixed = xlsx(
        tmp_path / "协查函-改.xlsx",
        [
            [1, "赵六", ZHAO_ID, "13733334444", "上海", "2021-08-04", "西社区7号楼"],
            [2, "钱七", QIAN_ID, "13800001111", "上海", 44411, "西社区"],
        ],
    )
    upload(page, base, fixed)
    start_and_wait(page, "succeeded")
    after_xlsx = counts(page, base, street, codes)
    assert after_xlsx["b"]["listed"] == after_csv["b"]["listed"] + 2  # 赵六's second record and 钱七
    assert MergeCandidate.objects.filter(person__name="赵六", status="pending").count() == 1

    # 4. The street office resolves the duplicate: one 赵六 remains.
    page.context.clear_cookies()
    log_in(page, base, street_office.username)
    page.goto(f"{base}/people/merges/")
    row = page.get_by_test_id("merge-row").filter(has_text="赵六")
    expect(row).to_have_count(1)
    row.get_by_test_id("merge").click()
    expect(page.get_by_test_id("merge-row").filter(has_text="赵六")).to_have_count(0)
    assert Person.objects.filter(name="赵六", merged_into__isnull=True).count() == 1

    # 5. The community worker of A locates 张三 in one tap.
    page.context.clear_cookies()
    log_in(page, base, worker.username)
    page.goto(f"{base}/screening/")
    zhang_row = page.get_by_test_id("entry-row").filter(has_text="张三")
    expect(zhang_row.get_by_test_id("entry-state")).to_have_attribute("data-state", "listed")
    zhang_row.get_by_test_id("located-home").click()
    expect(page.get_by_test_id("entry-row").filter(has_text="张三").get_by_test_id("entry-state")).to_have_attribute(
        "data-state", "located"
    )

    page.context.clear_cookies()
    log_in(page, base, officer.username)
    after_locate = counts(page, base, street, codes)
    assert after_locate["a"]["located"] == after_xlsx["a"]["located"] + 1

    # 6. 张三 tests positive: register the case, confirm the suggested contacts.
    page.goto(f"{base}/people/{household['zhang'].pk}/")
    page.get_by_test_id("register-case-link").click()
    page.fill("#id_first_positive_at", "2021-08-03T09:00")
    page.get_by_test_id("register-case").click()
    expect(page.get_by_test_id("clocks")).to_be_visible()
    suggested = page.get_by_test_id("suggested")
    expect(suggested).to_contain_text("配偶乙")  # household member
    suggested.locator("tr", has_text="配偶乙").get_by_test_id("confirm-contact").click()
    close = page.get_by_test_id("close-contacts").get_by_test_id("contact-row").filter(has_text="配偶乙")
    expect(close.get_by_test_id("quarantine-until")).not_to_be_empty()
    expect(close.get_by_test_id("test-dates")).not_to_be_empty()
    # The spouse's co-worker is a suggested secondary contact (the active edition derives them).
    page.get_by_test_id("suggested").locator("tr", has_text="室友丙").get_by_test_id("confirm-contact").click()
    secondary = page.get_by_test_id("secondary-contacts").get_by_test_id("contact-row").filter(has_text="室友丙")
    expect(secondary.get_by_test_id("quarantine-until")).not_to_be_empty()

    # 7. Nobody missed: both contacts are on the ledger of their own communities.
    final = counts(page, base, street, codes)
    assert final["a"]["listed"] == after_locate["a"]["listed"] + 1  # 配偶乙
    assert final["b"]["listed"] == after_locate["b"]["listed"] + 1  # 室友丙
    assert PoolEntry.objects.filter(person=household["spouse"]).exists()
