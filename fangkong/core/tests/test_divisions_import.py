from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from fangkong.core.errors import DomainError
from fangkong.core.models import Division
from fangkong.core.services import import_divisions, read_table

ROWS = [
    {"code": "410300", "name": "示范市"},
    {"code": "410302", "name": "老城区"},
    {"code": "410302001", "name": "西关街道"},
    {"code": "410302001001", "name": "东社区", "lon": "112.47", "lat": "34.68"},
    {"code": "410302001201", "name": "王村"},
]


def test_import_builds_the_tree_and_is_idempotent(db):
    first = import_divisions(ROWS, by=None)
    assert (first.created, first.updated) == (5, 0)
    community = Division.objects.get(code="410302001001")
    assert community.level == "community" and community.parent.code == "410302001"
    assert community.path == "410302001001" and community.lat == pytest.approx(34.68)
    assert Division.objects.get(code="410302001201").is_village
    again = import_divisions(ROWS, by=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)


def test_a_bad_row_is_named_and_nothing_is_written(db):
    rows = [
        *ROWS,
        {"code": "41030200100", "name": "坏编码"},
        {"code": "410302002001", "name": "孤儿"},
        {"code": "", "name": "x"},
    ]
    with pytest.raises(DomainError) as caught:
        import_divisions(rows, by=None)
    rows_in_error = {(d["row"], d["field"]) for d in caught.value.details}
    assert rows_in_error == {(7, "code"), (8, "code"), (9, "code")}
    assert Division.objects.count() == 0


def test_cli_reads_gbk_csv(db, tmp_path, capsys):
    path = tmp_path / "divisions.csv"
    path.write_bytes(("code,name\n" + "\n".join(f"{r['code']},{r['name']}" for r in ROWS) + "\n").encode("gbk"))
    assert [r["name"] for r in read_table(path)][:2] == ["示范市", "老城区"]
    call_command("import_divisions", str(path))
    assert Division.objects.count() == 5
    assert "created 5" in capsys.readouterr().out


def test_cli_reports_row_errors(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("code,name\n410300,示范市\n4103020,坏\n", encoding="utf-8-sig")
    with pytest.raises(CommandError, match="row 3, code"):
        call_command("import_divisions", str(path))
    assert Division.objects.count() == 0


def test_upload_page_runs_the_import_as_a_job_with_row_errors(
    client, tree, make_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fangkong.core.models import Job
    from fangkong.core.roles import Role

    settings.MEDIA_ROOT = tmp_path
    client.force_login(make_user(Role.CITY_HQ, "city"))
    good = "code,name\n410302002,新街道\n410302002001,新社区\n".encode("gbk")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/core/divisions/upload/", {"file": SimpleUploadedFile("d.csv", good)})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/core/jobs/{job.pk}/"
    assert (job.status, job.result) == ("succeeded", {"created": 2, "updated": 0, "unchanged": 0})
    assert Division.objects.filter(code="410302002001", parent__code="410302002").exists()
    page = client.get(f"/core/jobs/{job.pk}/").content.decode()
    assert "created: 2" in page

    bad = b"code,name\n410302003,x\n4103020030,y\n"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/core/divisions/upload/", {"file": SimpleUploadedFile("bad.csv", bad)})
    failed = Job.objects.order_by("-created_at").first()
    assert failed.status == "failed" and failed.result["errors"][0]["row"] == 3
    assert not Division.objects.filter(code="410302003").exists()
    assert "4103020030" in client.get(f"/core/jobs/{failed.pk}/").content.decode()


def test_binary_junk_is_refused_before_a_job_starts(client, tree, make_user, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fangkong.core.models import Job
    from fangkong.core.roles import Role

    settings.MEDIA_ROOT = tmp_path
    client.force_login(make_user(Role.CITY_HQ, "city"))
    response = client.post("/core/divisions/upload/", {"file": SimpleUploadedFile("x.csv", b"\x00\x01PK\x03")})
    assert response.status_code == 400 and Job.objects.count() == 0
