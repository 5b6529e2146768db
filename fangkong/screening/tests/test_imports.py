"""List imports through the services: messy GBK CSV and .xlsx files, the error report, all-or-nothing,
re-imports, bad files, identity resolution and routing."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from fangkong.core.errors import ConflictError, DomainError
from fangkong.core.identity import make_resident_id
from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.people.models import Person, PersonDocument, PersonSource
from fangkong.screening.imports import services
from fangkong.screening.imports.reading import MAX_LIST_BYTES, ListFileError
from fangkong.screening.models import ListImport, ListLayout, PoolEntry, PoolEvent, RiskReport
from fangkong.screening.services import list_person

ID1 = make_resident_id("410302", date(1990, 1, 1), 123)
ID2 = make_resident_id("410303", date(1985, 5, 6), 222)
ID3 = make_resident_id("310101", date(1970, 2, 3), 11)  # a visitor from Shanghai
HEADERS = ["序号", "姓名", "身份证号码", "联系电话", "来源地", "抵达时间", "现住址"]


def to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


MESSY_ROWS = [
    ["1", "张 三", to_full_width(ID1), "138 1234 5678", "上海市浦东新区", "2021年8月3日", "老城区西关街道东社区3号楼"],
    ["2", "李四", ID2.lower(), "+86 139-2222-3333", "310115", "2021/8/3 14:30", "西工区王村5组2号"],
    ["3", "王五", ID3, "", "上海市(310101)", "44411", "不知道哪里"],
    ["4", "赵六", "", "13733334444", "北京", "2021-08-03", "  西社区  7号楼 "],
    ["5", "张三", ID1, "13812345678", "上海", "20210804", ""],  # the same person again: one entry, two reports
]


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """These tests read the (English) message texts; the interface default is Chinese."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def officer(tree: dict[str, Any]) -> User:
    return User.objects.create_user(username="importer", role=Role.CITY_HQ, division=tree["city"])


def gbk_csv(tmp_path: Path, rows: list[list[str]], name: str = "list.csv", headers: list[str] = HEADERS) -> Path:
    path = tmp_path / name
    text = "\r\n".join(",".join(row) for row in [headers, *rows]) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return path


def xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "list.xlsx", headers: list[str] = HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def receive(path: Path, officer: User, tree: dict[str, Any], layout: str = "市公安局推送") -> ListImport:
    return services.receive_list_path(path, source="police", layout_name=layout, division=tree["city"], by=officer)


def run(list_import: ListImport, officer: User, mapping: dict[str, str] | None = None) -> services.ImportResult:
    headers = services.preview(list_import).headers
    return (
        services.import_list(list_import, mapping=mapping or services.preview(list_import).suggested, by=officer)
        if headers
        else pytest.fail("no headers")
    )


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        PersonDocument.objects.count(),
        PersonSource.objects.count(),
        PoolEntry.objects.count(),
        PoolEvent.objects.count(),
        RiskReport.objects.count(),
        AuditEntry.objects.filter(action="screening.list.import").count(),
    )


def test_a_messy_gbk_csv_is_normalised_resolved_and_routed(tmp_path, tree, officer, register):
    known = register("b", name="李四", document_number=ID2, phone="13922223333")  # already in the registry
    list_import = receive(gbk_csv(tmp_path, MESSY_ROWS), officer, tree)
    preview = services.preview(list_import)
    assert preview.suggested == {
        "name": "姓名",
        "id_number": "身份证号码",
        "phone": "联系电话",
        "origin": "来源地",
        "arrived_at": "抵达时间",
        "address": "现住址",
        "source_reference": "序号",
    }
    result = services.import_list(list_import, mapping=preview.suggested, by=officer)
    assert result.as_dict() == {
        "rows": 5,
        "people_created": 3,
        "entries_created": 4,
        "reports_added": 5,
        "unlocated": 1,
    }
    zhang = PersonDocument.objects.get(number=ID1).person
    assert zhang.name == "张三" and zhang.phone == "13812345678" and zhang.home_division_id == tree["a"].path
    entry = PoolEntry.objects.get(person=zhang)
    assert entry.division_id == tree["a"].path and not entry.is_unlocated and entry.reasons == ["arrival"]
    assert entry.reports.count() == 2 and entry.events.filter(kind="listed").count() == 1
    first = entry.reports.get(reference=f"{list_import.sha256[:16]}:2")
    assert first.arrived_at is not None and first.arrived_at.isoformat() == "2021-08-02T16:00:00+00:00"
    assert first.origin_name == "上海市浦东新区" and first.data["document"] == "410302********" + ID1[-4:]
    # Li Si resolved onto the registry's identity; the entry goes to their registered community.
    assert PoolEntry.objects.get(person=known).division_id == tree["b"].path
    assert PersonSource.objects.filter(person=known, source="police").count() == 1
    report = RiskReport.objects.get(entry__person=known)
    assert report.origin_code == "310115" and report.arrived_at.isoformat() == "2021-08-03T06:30:00+00:00"
    # The visitor's address resolves nowhere: the city's unlocated queue (their ID is from Shanghai).
    visitor = PersonDocument.objects.get(number=ID3).person
    assert PoolEntry.objects.get(person=visitor).is_unlocated
    assert PoolEntry.objects.get(person=visitor).division_id == tree["city"].path
    assert RiskReport.objects.get(entry__person=visitor).origin_code == "310101"
    # Phone only, community named in the address (stray spaces folded).
    zhao = Person.objects.get(name="赵六")
    assert zhao.primary_document_number == "" and PoolEntry.objects.get(person=zhao).division_id == tree["b"].path
    audit = AuditEntry.objects.get(action="screening.list.import")
    assert audit.changes["sha256"] == [None, list_import.sha256] and audit.changes["entries_created"] == [0, 4]
    list_import.refresh_from_db()
    assert (list_import.rows, list_import.errors, list_import.created) == (5, 0, 4)


def test_the_same_file_twice_changes_nothing(tmp_path, tree, officer):
    path = gbk_csv(tmp_path, MESSY_ROWS)
    run(receive(path, officer, tree), officer)
    before = counts()
    with pytest.raises(ConflictError, match="already imported"):
        receive(path, officer, tree)
    assert counts() == before and ListImport.objects.count() == 1


def test_an_overlapping_file_only_adds_reports(tmp_path, tree, officer):
    run(receive(gbk_csv(tmp_path, MESSY_ROWS[:2]), officer, tree), officer)
    entries = PoolEntry.objects.count()
    result = run(receive(gbk_csv(tmp_path, MESSY_ROWS[:2] + [MESSY_ROWS[3]], name="b.csv"), officer, tree), officer)
    assert result.entries_created == 1 and result.people_created == 1 and result.reports_added == 3
    assert PoolEntry.objects.count() == entries + 1


def test_a_person_already_in_the_pool_gets_a_report_and_the_reason(tmp_path, tree, officer, register):
    person = register("a", name="张三", document_number=ID1)
    entry = list_person(person, reason="close_contact", source="investigation", by=None).entry
    run(receive(gbk_csv(tmp_path, [MESSY_ROWS[0]]), officer, tree), officer)
    entry.refresh_from_db()
    assert entry.reasons == ["close_contact", "arrival"] and entry.reports.count() == 2
    assert PoolEntry.objects.filter(person=person).count() == 1


def test_an_xlsx_with_errors_imports_nothing_and_reports_every_row(tmp_path, tree, officer):
    rows = [
        [1, "张三", ID1, 13812345678.0, "上海", date(2021, 8, 3), "东社区"],
        [2, "李四", float(ID2[:17] + "0"), "13922223333", "上海", 44411, ""],  # an ID stored as a number
        [3, "", ID3, "12345", "上海", "2021-13-45", ""],
        [4, "钱七", "", "", "上海", "2021-08-03", ""],
        [5, "孙八", ID1[:17] + ("0" if ID1[17] != "0" else "1"), "", "", "", ""],
    ]
    list_import = receive(xlsx(tmp_path, rows), officer, tree)
    before = counts()
    with pytest.raises(services.ListImportError) as caught:
        run(list_import, officer)
    assert counts() == before
    found = {(d["row"], d["field"]) for d in caught.value.details}
    assert found == {
        (3, "id_number"),
        (4, "name"),
        (4, "phone"),
        (4, "arrived_at"),
        (5, "id_number"),
        (6, "id_number"),
    }
    damaged = next(d for d in caught.value.details if d["row"] == 3)
    assert "spreadsheet" in damaged["message"] or "表格" in damaged["message"]
    list_import.refresh_from_db()
    assert (list_import.rows, list_import.errors) == (5, 4)
    book = load_workbook(services.error_report_path(list_import), read_only=True)
    cells = [row for row in book.active.iter_rows(values_only=True)]
    assert len(cells) == 1 + 6 and cells[1][0] == 3
    assert all("****" in str(row[3]) or not row[3] or row[2] for row in cells[1:])
    from fangkong.core.masking import find_unmasked

    assert not find_unmasked(" ".join(str(c) for row in cells for c in row if c))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00junk" * 100, "neither a spreadsheet"),
        ("姓名,身份证号\r\n".encode(), "no data rows"),
        (b"PK\x03\x04 not really a zip", "cannot be read"),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(tmp_path, tree, officer, settings, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DomainError) as caught:
        receive(path, officer, tree)
    assert message in str(caught.value.message) or message in str(caught.value)
    assert ListImport.objects.count() == 0
    assert not [p for p in (Path(settings.MEDIA_ROOT) / "lists").glob("*")]


def test_a_2_gb_file_is_refused_before_it_is_read(tmp_path, tree, officer):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:  # sparse: no 2 GB on disk
        handle.truncate(2 * 1024**3)
    assert huge.stat().st_size > MAX_LIST_BYTES
    with pytest.raises(ListFileError, match="MB"):
        receive(huge, officer, tree)
    with pytest.raises(ListFileError, match="MB"):  # a browser upload announces its size first
        services.receive_list_file(
            iter([b"never read"]),
            file_name="huge.csv",
            size=2 * 1024**3,
            source="police",
            layout_name="x",
            division=tree["city"],
            by=officer,
        )
    assert ListImport.objects.count() == 0


def test_wrong_columns_are_refused_with_the_file_columns(tmp_path, tree, officer):
    path = gbk_csv(tmp_path, [["a", "b"]], headers=["列1", "列2"])
    list_import = receive(path, officer, tree)
    before = counts()
    with pytest.raises(services.ListImportError, match="列1, 列2"):
        services.import_list(list_import, mapping=services.preview(list_import).suggested, by=officer)
    with pytest.raises(services.ListImportError, match="no column"):
        services.import_list(list_import, mapping={"name": "姓名", "phone": "手机"}, by=officer)
    assert counts() == before


def test_utf8_bom_and_utf8_and_remembered_layouts(tmp_path, tree, officer):
    headers = ["人员", "证件", "手机号码"]
    for index, encoding in enumerate(("utf-8-sig", "utf-8")):
        path = tmp_path / f"{encoding}.csv"
        path.write_text(f"{','.join(headers)}\n钱{index},{[ID1, ID2][index]},\n", encoding=encoding)
        list_import = receive(path, officer, tree, layout="移动公司")
        if index == 0:
            assert "name" not in services.preview(list_import).suggested
            job_mapping = {"name": "人员", "id_number": "证件", "phone": "手机号码"}
            services.save_layout(tree["city"], name="移动公司", source="telecom", mapping=job_mapping, by=officer)
        preview = services.preview(list_import, layout_name="移动公司")
        assert preview.suggested == {"name": "人员", "id_number": "证件", "phone": "手机号码"}
        assert preview.samples[0][1].startswith([ID1, ID2][index][:6]) and "*" in preview.samples[0][1]
        services.import_list(list_import, mapping=preview.suggested, by=officer)
    assert ListLayout.objects.get(name="移动公司").mapping["name"] == "人员"
    assert Person.objects.filter(name__in=["钱0", "钱1"]).count() == 2


def test_the_job_runs_the_import_and_a_rerun_writes_nothing(
    tmp_path, tree, officer, django_capture_on_commit_callbacks
):
    from fangkong.core.jobs import run_job_now

    list_import = receive(gbk_csv(tmp_path, MESSY_ROWS), officer, tree)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_list_import(
            list_import,
            mapping=services.preview(list_import).suggested,
            layout_name="市公安局推送",
            reason="arrival",
            by=officer,
        )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result["entries_created"] == 4 and job.result["import_id"] == list_import.pk
    before = counts()
    job.status = "queued"
    job.save()
    assert run_job_now(str(job.pk)).result["rows"] == 5  # a restart finds the import committed
    assert counts() == before
    with pytest.raises(ConflictError):
        services.start_list_import(list_import, mapping={}, layout_name="x", reason="arrival", by=officer)


def test_a_failed_job_carries_the_errors(tmp_path, tree, officer, django_capture_on_commit_callbacks):
    list_import = receive(gbk_csv(tmp_path, [["1", "", ID1, "", "", "", ""]]), officer, tree)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_list_import(
            list_import,
            mapping={"name": "姓名", "id_number": "身份证号码"},
            layout_name="L",
            reason="arrival",
            by=officer,
        )
    job.refresh_from_db()
    assert job.status == "failed" and job.result["errors"][0]["row"] == 2 and job.result["errors"][0]["field"] == "name"
    assert services.error_report_path(list_import).exists()


def test_a_worker_outside_the_capability_cannot_import(tmp_path, tree, make_user):
    from fangkong.core.errors import PermissionDeniedError

    worker = make_user(Role.COMMUNITY_WORKER, "a")
    with pytest.raises(PermissionDeniedError):
        services.receive_list_path(
            gbk_csv(tmp_path, MESSY_ROWS), source="police", layout_name="x", division=tree["a"], by=worker
        )


def test_the_command_line_imports_and_prints_errors(tmp_path, tree):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command(
        "import_list", str(gbk_csv(tmp_path, MESSY_ROWS)), "--source", "police", "--layout", "市公安局推送", stdout=out
    )
    assert "5 rows" in out.getvalue() and "4 new in the pool" in out.getvalue()
    bad = gbk_csv(tmp_path, [["1", "", ID1, "", "", "", ""]], name="bad.csv")
    with pytest.raises(CommandError, match="row 2, name"):
        call_command(
            "import_list", str(bad), "--source", "police", "--layout", "市公安局推送", "--map", "name=姓名", stdout=out
        )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import as a million-row file runs it: checked in forked processes, a few rows per chunk, each chunk
    written as it comes."""
    from fangkong.screening.imports import validation

    monkeypatch.setattr(validation, "CHUNK_ROWS", 2)
    monkeypatch.setattr(validation, "PARALLEL_FROM", 1)
    monkeypatch.setattr(validation, "processes_for", lambda rows: 3)


def test_errors_in_later_chunks_roll_back_the_chunks_already_written(tmp_path, tree, officer, small_chunks):
    """Chunks 1 and 2 are written before chunk 3 fails: nothing stays, and the chunks after the failure are
    still checked, so the report has every failing row."""
    good = [[str(n), f"张{n}", "", f"1381234{n:04d}", "上海", "2021-08-03", "东社区"] for n in range(1, 6)]
    rows = [*good, ["6", "钱七", "", "", "上海", "2021-08-03", ""], *good[:3], ["10", "孙八", "123", "", "", "", ""]]
    list_import = receive(gbk_csv(tmp_path, rows), officer, tree)
    before = counts()
    with pytest.raises(services.ListImportError) as caught:
        run(list_import, officer)
    assert counts() == before
    assert {(d["row"], d["field"]) for d in caught.value.details} == {(7, "id_number"), (11, "id_number")}
    list_import.refresh_from_db()
    assert (list_import.rows, list_import.errors) == (10, 2)
    fixed = receive(gbk_csv(tmp_path, good, name="fixed.csv"), officer, tree)
    assert run(fixed, officer).people_created == 5  # the database took writes again: no lock, no leftovers
