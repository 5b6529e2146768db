"""A county officer imports a messy GBK .csv (clean) and an .xlsx list with errors: maps the columns, watches
the job, sees the result, and downloads the error report."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect

from fangkong.core.roles import Role
from fangkong.screening.models import PoolEntry
from fangkong.screening.tests.test_imports import HEADERS, ID1, MESSY_ROWS
from tests.browser.test_foundation_flows import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(page: Page, base: str, path: Path) -> None:
    page.goto(f"{base}/screening/imports/")
    page.select_option("select[name=source]", "police")
    page.fill("input[name=layout_name]", "市公安局推送")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("mapping-form")).to_be_visible()


def test_import_a_gbk_csv_and_an_xlsx_with_errors(page: Page, live_server, make_user, tmp_path):
    officer = make_user(Role.COUNTY_HQ, "city")
    log_in(page, live_server.url, officer.username)

    csv_path = tmp_path / "公安推送.csv"
    csv_path.write_bytes(("\r\n".join(",".join(r) for r in [HEADERS, *MESSY_ROWS]) + "\r\n").encode("gbk"))
    upload(page, live_server.url, csv_path)
    expect(page.get_by_test_id("samples")).to_contain_text("410302********" + ID1[-4:])
    expect(page.locator("select[name=map_name]")).to_have_value("姓名")
    page.get_by_test_id("start").click()
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(page.get_by_test_id("import-result")).to_contain_text("5")
    assert PoolEntry.objects.count() == 4

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([1, "钱七", float(ID1[:15] + "000"), "13800001111", "上海", "2021-08-03", ""])
    sheet.append([2, "", "", "", "", "", ""])
    xlsx_path = tmp_path / "协查函.xlsx"
    workbook.save(xlsx_path)
    upload(page, live_server.url, xlsx_path)
    page.get_by_test_id("start").click()
    expect(progress).to_have_attribute("data-status", "failed", timeout=15_000)
    expect(page.get_by_test_id("errors")).to_contain_text("2")
    with page.expect_download() as download:
        page.get_by_test_id("error-report").click()
    rows = list(
        load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True).active.iter_rows(
            values_only=True
        )
    )
    assert [r[0] for r in rows[1:]][:1] == [2] and len(rows) >= 3
    assert PoolEntry.objects.count() == 4  # nothing from the failed file
