from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fangkong.core.models import Job
from fangkong.core.roles import Role
from fangkong.notify.models import Message


def test_campaign_reaches_everyone_in_the_division_once(
    client, tree, register, make_user, settings, django_capture_on_commit_callbacks
):
    for n in range(5):
        register("a", name=f"甲{n}", phone=f"1381111000{n}")
    register("a", name="无手机", document_number="11010519491231002X")
    register("b", name="乙", phone="13922220000")
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/command/campaign/", {"division": tree["a"].path, "text": "今天下午在广场核酸检测"})
    job = Job.objects.get(kind="command.sms_campaign")
    assert response.status_code == 302 and job.result == {"recipients": 5, "sent": 5}
    assert Message.objects.filter(status="sent").count() == 5
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text().splitlines()]
    assert sorted(line["phone"] for line in lines) == [f"1381111000{n}" for n in range(5)]

    from fangkong.core.jobs import run_job_now

    Job.objects.filter(pk=job.pk).update(status="queued")  # a second run of the same campaign sends nothing new
    run_job_now(str(job.pk))
    assert Message.objects.count() == 5 and len(settings.SMS_FILE_PATH.read_text().splitlines()) == 5


def test_a_campaign_outside_ones_jurisdiction_is_refused(client, tree, make_user):
    client.force_login(make_user(Role.COUNTY_HQ, "county2"))
    response = client.post("/command/campaign/", {"division": tree["a"].path, "text": "x"})
    assert response.status_code == 400 and not Job.objects.exists()


def _fangkong(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fangkong.cli", *args], env=env, **kwargs)


@pytest.mark.slow
def test_a_campaign_survives_a_worker_killed_mid_run(tmp_path: Path):
    """A real worker process is killed (SIGKILL) half way; a new worker resumes; every person gets exactly one
    message row, and the SMS file shows each number once (or twice for at most the one in flight)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DATABASE_URL"))},
        "FANGKONG_VAR_DIR": str(tmp_path),
        "FANGKONG_SMS_BACKEND": "fangkong.notify.backends.FileSmsBackend",
        "FANGKONG_SMS_FILE": str(tmp_path / "sms.jsonl"),
        "FANGKONG_JOB_STALE_SECONDS": "2",
        "FANGKONG_CAMPAIGN_DELAY_SECONDS": "0.01",
    }
    assert _fangkong("migrate", "-v0", env=env).wait(120) == 0
    setup = """
from fangkong.core.models import Division, User
from fangkong.core.roles import Role
from fangkong.people.services import bulk_load_people
from fangkong.command.campaigns import start_campaign
from django.db import transaction
city = Division.objects.create(code="410300", path="4103", name="示范市", level="city")
county = Division.objects.create(code="410302", path="410302", name="老城区", level="county", parent=city)
street = Division.objects.create(code="410302001", path="410302001", name="街道", level="street", parent=county)
a = Division.objects.create(code="410302001001", path="410302001001", name="东社区", level="community", parent=street)
from fangkong.core.identity import make_resident_id
import datetime
rows = [dict(name=f"人{n}", sex="M", birth_date=datetime.date(1980, 1, 1), phone=f"138{n:08d}",
             id_number=make_resident_id("410302", datetime.date(1980, 1, 1), n % 1000), division=a.path)
        for n in range(300)]
bulk_load_people(rows, source="test", reference="t", by=None)
hq = User.objects.create_user(username="hq", role=Role.CITY_HQ, division=city)
with transaction.atomic():
    job = start_campaign(division_path=a.path, text="核酸检测通知", by=hq)
print(job.pk)
"""
    out = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "shell", "-c", setup],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    sms = tmp_path / "sms.jsonl"

    worker = _fangkong("worker", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not sms.exists() or len(sms.read_text().splitlines()) < 100):
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    sent_before = len(sms.read_text().splitlines())
    assert 100 <= sent_before < 300, sent_before

    time.sleep(2.5)  # the killed worker's heartbeat goes stale
    assert _fangkong("worker", "--batch", env=env).wait(120) == 0

    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "fangkong.cli",
            "shell",
            "--no-imports",
            "-c",
            "from fangkong.notify.models import Message; from fangkong.core.models import Job;"
            "j = Job.objects.get(); print(j.status, j.attempts, Message.objects.count(),"
            " Message.objects.values('idempotency_key').distinct().count())",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status, attempts, rows, keys = check.stdout.split()
    assert (status, int(rows), int(keys)) == ("succeeded", 300, 300), check.stdout + check.stderr
    assert int(attempts) == 2
    phones = [json.loads(line)["phone"] for line in sms.read_text().splitlines()]
    assert len(set(phones)) == 300
    assert len(phones) - 300 <= 1  # at most the one message in flight at the kill is delivered again
