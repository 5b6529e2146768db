"""Bulk check-in imports: a messy GBK CSV and an .xlsx with venue codes, all-or-nothing with row and field
errors, re-imports that change nothing, one venue chosen for the whole file, the job and the pages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from fangkong.core.errors import ConflictError, DomainError, PermissionDeniedError
from fangkong.core.identity import make_resident_id
from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.core.text import CHINA_TIME_ZONE
from fangkong.people.models import Person, PersonSource
from fangkong.venues import importing
from fangkong.venues.models import CheckIn, CheckInImport, CheckInSource, Venue
from fangkong.venues.services import VenueInput, register_venue

ID1 = make_resident_id("410302", date(1990, 1, 1), 123)
ID2 = make_resident_id("410303", date(1985, 5, 6), 222)
HEADERS = ["序号", "场所码", "姓名", "身份证号码", "手机号码", "扫码时间", "离开时间"]


def to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def officer(tree: dict[str, Any]) -> User:
    return User.objects.create_user(username="bigdata", role=Role.POLICE_ANALYST, division=tree["city"])


@pytest.fixture
def venues(tree: dict[str, Any], officer: User) -> dict[str, Venue]:
    return {
        "market": register_venue(VenueInput(name="东街菜市场", category="market", division=tree["a"].path), by=officer),
        "ktv": register_venue(VenueInput(name="西街 KTV", category="ktv", division=tree["b"].path), by=officer),
    }


def messy_rows(venues: dict[str, Venue]) -> list[list[str]]:
    market, ktv = venues["market"].code, venues["ktv"].code
    return [
        ["1", market.lower(), "张 三", to_full_width(ID1), "138 1234 5678", "2021年8月3日 9:05", ""],
        ["2", f" {market} ", "李四", ID2.lower(), "", "2021/8/3 09:30", "2021/8/3 10:10"],
        ["3", ktv, "王五", "", "+86 139-2222-3333", "２０２１－０８－０４　２１：００", ""],  # full-width
        ["4", ktv, "张三", ID1, "", "2021-08-04 21:10", "2021-08-04 23:00"],
        ["4b", ktv, "张三", ID1, "", "2021-08-04 21:10", "2021-08-04 23:00"],  # the same visit twice
    ]


def gbk_csv(tmp_path: Path, rows: list[list[str]], name: str = "checkins.csv", headers: list[str] = HEADERS) -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(",".join(row) for row in [headers, *rows]) + "\r\n").encode("gbk"))
    return path


def xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "checkins.xlsx", headers: list[str] = HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def receive(path: Path, officer: User, tree: dict[str, Any], venue: Venue | None = None) -> CheckInImport:
    return importing.receive_check_in_path(path, division=tree["city"], venue=venue, by=officer)


def run(check_in_import: CheckInImport, officer: User) -> dict[str, int]:
    return importing.import_check_ins(check_in_import, mapping=importing.preview(check_in_import).suggested, by=officer)


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        PersonSource.objects.count(),
        CheckIn.objects.count(),
        AuditEntry.objects.filter(action="venues.checkins.import").count(),
    )


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHINA_TIME_ZONE)


def test_a_messy_gbk_csv_is_normalised_resolved_and_written(tmp_path, tree, officer, venues, register):
    known = register("a", name="张三", document_number=ID1, phone="13812345678")
    check_in_import = receive(gbk_csv(tmp_path, messy_rows(venues)), officer, tree)
    preview = importing.preview(check_in_import)
    assert preview.suggested == {
        "venue_code": "场所码",
        "name": "姓名",
        "id_number": "身份证号码",
        "phone": "手机号码",
        "checked_in_at": "扫码时间",
        "checked_out_at": "离开时间",
        "source_reference": "序号",
    }
    assert ID1 not in str(preview.samples) and "13812345678" not in str(preview.samples).replace(" ", "")
    result = run(check_in_import, officer)
    assert result == {"rows": 5, "check_ins_created": 4, "already_on_record": 1, "people_created": 2}
    market = CheckIn.objects.filter(venue=venues["market"]).order_by("checked_in_at")
    assert [(c.person_id, c.checked_in_at, c.ends_at) for c in market][0] == (
        known.pk,
        local(2021, 8, 3, 9, 5),
        local(2021, 8, 3, 9, 45),  # no check-out: the market's assumed 40 minutes
    )
    assert market[1].checked_out_at == local(2021, 8, 3, 10, 10)
    ktv = CheckIn.objects.filter(venue=venues["ktv"]).order_by("checked_in_at")
    assert ktv[0].checked_in_at == local(2021, 8, 4, 21, 0) and ktv[1].person_id == known.pk
    assert {c.division_id for c in ktv} == {venues["ktv"].division_id}
    assert {c.source for c in CheckIn.objects.all()} == {CheckInSource.IMPORT}
    phone_only = Person.objects.get(phone="13922223333")
    assert phone_only.home_division_id == venues["ktv"].division_id and phone_only.primary_document_number == ""
    audit = AuditEntry.objects.get(action="venues.checkins.import")
    assert audit.changes["check_ins_created"] == [0, 4]
    check_in_import.refresh_from_db()
    assert check_in_import.is_imported and check_in_import.created == 4


def test_the_same_file_again_is_refused_and_the_same_data_in_another_file_adds_nothing(tmp_path, tree, officer, venues):
    rows = messy_rows(venues)
    run(receive(gbk_csv(tmp_path, rows), officer, tree), officer)
    before = counts()
    with pytest.raises(ConflictError):
        receive(gbk_csv(tmp_path, rows, name="again.csv"), officer, tree)
    again = run(receive(xlsx(tmp_path, rows), officer, tree), officer)
    assert again["check_ins_created"] == 0 and again["already_on_record"] == 5
    assert counts()[2] == before[2]


def test_a_file_with_errors_writes_nothing_and_names_every_row_and_field(tmp_path, tree, officer, venues):
    rows = [
        ["1", venues["market"].code, "张三", ID1, "", "2021-08-03 09:00", ""],
        ["2", "VNOSUCH999", "李四", ID2, "", "2021-08-03 09:00", ""],
        ["3", venues["market"].code, "王五", ID1[:-1] + ("0" if ID1[-1] != "0" else "1"), "", "2021-08-03", ""],
        ["4", venues["market"].code, "赵六", "", "", "2021-08-03", ""],
        ["5", venues["market"].code, "钱七", ID2, "", "昨天", ""],
        ["6", venues["market"].code, "孙八", ID2, "", "2021-08-03 10:00", "2021-08-03 09:00"],
        ["7", venues["market"].code, "周九", ID2, "", "2999-01-01", ""],
    ]
    check_in_import = receive(gbk_csv(tmp_path, rows), officer, tree)
    before = counts()
    with pytest.raises(DomainError) as error:
        run(check_in_import, officer)
    found = {(e["row"], e["field"]) for e in error.value.details}
    assert found == {
        (3, "venue_code"),
        (4, "id_number"),
        (5, "id_number"),
        (6, "checked_in_at"),
        (7, "checked_out_at"),
        (8, "checked_in_at"),
    }
    assert counts() == before
    check_in_import.refresh_from_db()
    assert (check_in_import.rows, check_in_import.errors) == (7, 6)
    report = load_workbook(importing.error_report_path(check_in_import), read_only=True)
    cells = [row for row in report.active.iter_rows(values_only=True)]
    assert len(cells) == 7 and cells[1][0] == 3 and "VNOSUCH999" in str(cells[1])
    assert ID1 not in str(cells)


def test_one_venue_for_the_whole_file_and_times_from_spreadsheet_cells(tmp_path, tree, officer, venues):
    path = xlsx(
        tmp_path,
        [["1", "张三", ID1, datetime(2021, 8, 3, 12, 0), None], ["2", "李四", ID2, 44411.5, 44411.5625]],
        headers=["编号", "姓名", "证件号码", "进入时间", "离场时间"],
    )
    check_in_import = receive(path, officer, tree, venue=venues["market"])
    result = run(check_in_import, officer)
    assert result["check_ins_created"] == 2
    stays = set(CheckIn.objects.values_list("checked_in_at", "ends_at"))
    # 44411.5 is 2021-08-03 12:00 as a spreadsheet serial; no check-out: the market's assumed 40 minutes.
    assert stays == {
        (local(2021, 8, 3, 12, 0), local(2021, 8, 3, 12, 40)),
        (local(2021, 8, 3, 12, 0), local(2021, 8, 3, 13, 30)),
    }


def test_the_mapping_must_name_the_required_columns(tmp_path, tree, officer, venues):
    check_in_import = receive(gbk_csv(tmp_path, messy_rows(venues)), officer, tree)
    with pytest.raises(DomainError) as error:
        importing.start_check_in_import(
            check_in_import, mapping={"name": "姓名", "id_number": "身份证号码"}, by=officer
        )
    assert error.value.field == "checked_in_at"
    with pytest.raises(DomainError) as error:
        importing.start_check_in_import(
            check_in_import,
            mapping={"name": "姓名", "id_number": "身份证号码", "checked_in_at": "扫码时间"},
            by=officer,
        )
    assert error.value.field == "venue_code"


def test_bad_files_are_refused_before_anything_is_kept(tmp_path, tree, officer):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02binary" * 100)
    with pytest.raises(DomainError):
        receive(junk, officer, tree)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DomainError):
        receive(empty, officer, tree)
    assert CheckInImport.objects.count() == 0


def test_only_venue_managers_in_scope_may_import(tmp_path, tree, venues, make_user):
    path = gbk_csv(tmp_path, messy_rows(venues))
    with pytest.raises(PermissionDeniedError):
        importing.receive_check_in_path(path, division=tree["city"], venue=None, by=make_user(Role.LAB, "a"))
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    with pytest.raises(PermissionDeniedError):
        importing.receive_check_in_path(path, division=tree["city"], venue=None, by=worker)
    # A community's worker only resolves the venues of their community: the KTV in B is a row error.
    check_in_import = importing.receive_check_in_path(path, division=tree["a"], venue=None, by=worker)
    with pytest.raises(DomainError) as error:
        run(check_in_import, worker)
    assert {e["row"] for e in error.value.details} == {4, 5, 6}


def test_the_pages_upload_map_run_the_job_and_show_the_result(
    client, tmp_path, tree, officer, venues, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    with gbk_csv(tmp_path, messy_rows(venues)).open("rb") as handle:
        response = client.post("/venues/imports/", {"file": handle, "venue": ""})
    assert response.status_code == 302
    check_in_import = CheckInImport.objects.get()
    mapping = client.get(response["Location"])
    assert mapping.status_code == 200 and ID1 not in mapping.content.decode()
    form = {f"map_{field}": header for field, header in importing.preview(check_in_import).suggested.items()}
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"], form)
    assert started.status_code == 302 and started["Location"].endswith("/progress/")
    progress = client.get(started["Location"])
    body = progress.content.decode()
    assert 'data-status="succeeded"' in body and CheckIn.objects.count() == 4
    assert client.get(f"/venues/imports/{check_in_import.pk}/errors.xlsx").status_code == 200


def test_the_command_line_imports_and_reports_every_error(tmp_path, tree, venues, capsys):
    from django.core.management import CommandError, call_command

    call_command("import_check_ins", str(gbk_csv(tmp_path, messy_rows(venues))))
    assert "4 check-ins added" in capsys.readouterr().out and CheckIn.objects.count() == 4
    bad = gbk_csv(tmp_path, [["1", "VNOSUCH999", "李四", ID2, "", "2021-08-03 09:00", ""]], name="bad.csv")
    with pytest.raises(CommandError) as error:
        call_command("import_check_ins", str(bad))
    assert "row 2, venue_code" in str(error.value) and CheckIn.objects.count() == 4
    one = xlsx(tmp_path, [["张三", ID1, datetime(2021, 8, 5, 8, 0)]], headers=["姓名", "身份证", "时间"])
    call_command("import_check_ins", str(one), "--venue", venues["market"].code, "--map", "checked_in_at=时间")
    assert CheckIn.objects.filter(venue=venues["market"], checked_in_at=local(2021, 8, 5, 8, 0)).exists()
