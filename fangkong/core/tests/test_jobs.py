from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.jobs import JobContext, job_handler, recover_stale_jobs, run_job_now, start_job
from fangkong.core.models import Job, JobStatus

calls: list[str] = []


@job_handler("test.count_to_ten")
def count_to_ten(context: JobContext) -> dict[str, int]:
    """A resumable job: it checkpoints after every step and crashes once half way when asked."""
    start = context.job.state.get("next", 0)
    for step in range(start, 10):
        if context.job.params.get("crash_at") == step and context.job.attempts == 1:
            raise RuntimeError("worker killed")
        calls.append(f"{context.job.pk}:{step}")
        context.checkpoint(next=step + 1)
        context.progress(step + 1, 10)
    return {"steps": 10}


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def _silent_for_an_hour(job: Job) -> None:
    """As if the job's worker had died an hour ago: running, its row's and its published heartbeat both old."""
    from django.core.cache import caches

    from fangkong.core.jobs import PROGRESS_CACHE, _progress_key

    an_hour_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=an_hour_ago)
    published = caches[PROGRESS_CACHE].get(_progress_key(job.pk))
    if published:
        caches[PROGRESS_CACHE].set(_progress_key(job.pk), {**published, "at": an_hour_ago.timestamp()})


def test_a_job_runs_after_commit_and_reports_progress(django_capture_on_commit_callbacks, db):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job("test.count_to_ten", params={}, by=None)
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.percent, job.result) == (
        JobStatus.SUCCEEDED,
        10,
        10,
        100,
        {"steps": 10},
    )
    assert len(calls) == 10


def test_an_interrupted_job_resumes_from_its_checkpoint_without_repeating_work(db, settings):
    job = Job.objects.create(kind="test.count_to_ten", params={"crash_at": 6})
    failed = run_job_now(str(job.pk))
    assert failed.status == JobStatus.FAILED and failed.state == {"next": 6}
    # A crash that kills the worker leaves the job "running" with an old heartbeat; recovery re-enqueues it.
    _silent_for_an_hour(job)
    assert recover_stale_jobs() == [str(job.pk)]  # the immediate backend runs it at once
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert calls == [f"{job.pk}:{step}" for step in range(10)]  # every step exactly once


def test_a_running_job_with_a_live_heartbeat_is_not_run_twice(db):
    job = Job.objects.create(kind="test.count_to_ten", status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    assert run_job_now(str(job.pk)).status == JobStatus.RUNNING
    assert recover_stale_jobs() == []
    assert calls == []


def test_progress_made_inside_a_transaction_is_seen_while_the_job_runs(db):
    """A handler inside one long transaction (a list import) updates its row where no other connection sees
    it; the published progress is what the page shows meanwhile — and a finished job shows its row."""
    from django.db import transaction

    from fangkong.core.jobs import live_progress

    job = Job.objects.create(kind="test.count_to_ten", status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    context = JobContext(Job.objects.get(pk=job.pk))
    with transaction.atomic():
        context.progress(400, 1000, "checking and writing")
        transaction.set_rollback(True)  # as other connections see it: the row is not updated yet
    seen = Job.objects.get(pk=job.pk)
    assert (seen.done, seen.total, seen.message) == (0, 0, "")
    live = live_progress(seen)
    assert live is not None and (live.done, live.total, live.message, live.percent) == (
        400,
        1000,
        "checking and writing",
        40,
    )
    context.progress(1000, 1000, "done")  # committed: the row and the published progress agree
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, result={"rows": 1000})
    with transaction.atomic():
        context.progress(5, 1000, "a stale report")
        transaction.set_rollback(True)
    finished = live_progress(Job.objects.get(pk=job.pk))
    assert finished is not None and (finished.done, finished.message) == (1000, "done")
    assert live_progress(None) is None


def test_a_job_publishing_progress_inside_its_transaction_is_not_taken_for_dead(db, settings):
    """Its row's heartbeat is old (the updates are inside the uncommitted transaction), its published one is
    fresh: neither the recovery nor a second worker runs it again; once it stops publishing, both do."""
    from django.db import transaction

    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 60)
    job = Job.objects.create(kind="test.count_to_ten", status=JobStatus.RUNNING, heartbeat_at=old, attempts=1)
    with transaction.atomic():
        JobContext(Job.objects.get(pk=job.pk)).progress(3, 10, "working")
        transaction.set_rollback(True)
    assert recover_stale_jobs() == []
    assert run_job_now(str(job.pk)).status == JobStatus.RUNNING and calls == []
    _silent_for_an_hour(job)
    assert run_job_now(str(job.pk)).status == JobStatus.SUCCEEDED and len(calls) == 10
