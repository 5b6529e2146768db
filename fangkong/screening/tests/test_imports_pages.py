"""The list import pages: upload → mapping (masked samples, prefilled selects) → progress with the result,
and the error report download."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from fangkong.core.masking import find_unmasked
from fangkong.core.roles import Role
from fangkong.screening.models import ListImport, PoolEntry
from fangkong.screening.tests.test_imports import HEADERS, ID1, MESSY_ROWS


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_upload(rows: list[list[str]], name: str = "police.csv") -> SimpleUploadedFile:
    text = "\r\n".join(",".join(r) for r in [HEADERS, *rows]) + "\r\n"
    return SimpleUploadedFile(name, text.encode("gbk"), content_type="text/csv")


def upload(client: Any, rows: list[list[str]]) -> Any:
    return client.post(
        "/screening/imports/", {"source": "police", "layout_name": "市公安局推送", "file": csv_upload(rows)}
    )


def test_upload_map_and_import(client, make_user, django_capture_on_commit_callbacks):
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    assert client.get("/screening/imports/").status_code == 200
    response = upload(client, MESSY_ROWS)
    assert response.status_code == 302
    list_import = ListImport.objects.get()
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and "410302********" + ID1[-4:] in body and not find_unmasked(body)
    assert 'value="姓名" selected' in body and 'value="身份证号码" selected' in body
    form = {f"map_{field}": header for field, header in page.context["preview"].suggested.items()}
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"/screening/imports/{list_import.pk}/", {**form, "layout_name": "市公安局推送", "reason": "arrival"}
        )
    assert started.status_code == 302 and started["Location"].endswith("/progress/")
    result = client.get(started["Location"]).content.decode()
    assert 'data-status="succeeded"' in result and PoolEntry.objects.count() == 4
    again = upload(client, MESSY_ROWS)
    assert again.status_code == 400 and "再次导入不会改变任何数据" in again.content.decode()  # "already imported"


def test_errors_are_listed_and_downloadable(client, make_user, django_capture_on_commit_callbacks):
    client.force_login(make_user(Role.POLICE_ANALYST, "city"))
    response = upload(client, [["1", "张三", ID1[:-1] + "0", "138", "", "", ""]])
    list_import = ListImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/screening/imports/{list_import.pk}/",
            {
                "map_name": "姓名",
                "map_id_number": "身份证号码",
                "map_phone": "联系电话",
                "layout_name": "L",
                "reason": "arrival",
            },
        )
    progress = client.get(response["Location"].split("?")[0] + "progress/").content.decode()
    assert 'data-status="failed"' in progress and "errors.xlsx" in progress and not find_unmasked(progress)
    report = client.get(f"/screening/imports/{list_import.pk}/errors.xlsx")
    rows = list(load_workbook(io.BytesIO(report.content), read_only=True).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [2, 2] and PoolEntry.objects.count() == 0


def test_junk_is_refused_on_the_page(client, make_user):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    junk = SimpleUploadedFile("list.xlsx", b"\x00\xff" * 500)
    response = client.post("/screening/imports/", {"source": "police", "layout_name": "x", "file": junk})
    assert response.status_code == 400 and ListImport.objects.count() == 0


def test_a_mapping_without_the_required_fields_is_refused(client, make_user):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    upload(client, MESSY_ROWS)
    list_import = ListImport.objects.get()
    response = client.post(
        f"/screening/imports/{list_import.pk}/", {"map_address": "现住址", "layout_name": "L", "reason": "arrival"}
    )
    assert response.status_code == 400 and list_import.job is None


def test_the_progress_page_follows_an_import_inside_its_transaction(client, make_user):
    """The import writes inside one transaction, so its job row's count stays at the last commit; the page
    shows the progress the job published meanwhile."""
    from django.db import transaction
    from django.utils import timezone

    from fangkong.core.jobs import JobContext
    from fangkong.core.models import Job, JobStatus

    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    upload(client, MESSY_ROWS)
    list_import = ListImport.objects.get()
    job = Job.objects.create(kind="screening.import_list", status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    ListImport.objects.filter(pk=list_import.pk).update(job=job)
    with transaction.atomic():
        JobContext(job).progress(40_000, 100_000, "正在检查并写入")
        transaction.set_rollback(True)
    page = client.get(f"/screening/imports/{list_import.pk}/progress/", headers={"HX-Request": "true"})
    body = page.content.decode()
    assert "40000 / 100000 (40%)" in body and "正在检查并写入" in body and 'hx-trigger="every 1s"' in body
