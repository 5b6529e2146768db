"""One job system for imports, analytics runs and message campaigns.

A job is a row (`core.Job`) that users see with its progress; the queue (django-tasks, database-backed by
default) carries only the job's id. Handlers are registered by kind and must be safe to run again: they
checkpoint into `job.state` and skip what is already done, so a job interrupted by a crash or restart is simply
run again — by `recover_stale_jobs()`, which the `fangkong worker` command calls at start and periodically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fangkong.core.errors import DomainError
from fangkong.core.models import Job, JobStatus, User

logger = logging.getLogger(__name__)


PROGRESS_CACHE = "progress"  # settings.CACHES: Redis where configured, else files shared by this machine's processes
PROGRESS_SECONDS = 24 * 3600


def _progress_key(job_id: Any) -> str:
    return f"fangkong:job-progress:{job_id}"


@dataclass
class JobContext:
    job: Job

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress (and a heartbeat) — cheap enough to call every few thousand rows. Also published
        outside the database (`live_progress`): a handler that works inside one long transaction (a list
        import) updates its row where no one else can see it until it commits."""
        now = timezone.now()
        fields: dict[str, Any] = {"done": done, "heartbeat_at": now}
        if total is not None:
            fields["total"] = total
        if message:
            fields["message"] = message[:300]
        Job.objects.filter(pk=self.job.pk).update(**fields)
        self.job.done = done
        if total is not None:
            self.job.total = total
        if message:
            self.job.message = message[:300]
        published = {"done": done, "total": self.job.total, "message": self.job.message, "at": now.timestamp()}
        caches[PROGRESS_CACHE].set(_progress_key(self.job.pk), published, PROGRESS_SECONDS)

    def checkpoint(self, **state: Any) -> None:
        self.job.state.update(state)
        Job.objects.filter(pk=self.job.pk).update(state=self.job.state, heartbeat_at=timezone.now())


def _published_since(job_id: Any, moment: datetime) -> bool:
    """Whether the job's handler published progress after `moment`: a heartbeat as good as its row's, which a
    handler inside one long transaction cannot make visible before it commits."""
    published = caches[PROGRESS_CACHE].get(_progress_key(job_id))
    return bool(published) and float(published["at"]) > moment.timestamp()


def live_progress(job: Job | None) -> Job | None:
    """`job` with the progress its handler last published, when that is newer than what its row shows: while
    a handler works inside a transaction, its row's progress stays invisible to other connections until the
    commit, and the page would sit at the last committed count."""
    if job is None or job.is_finished:
        return job
    published = caches[PROGRESS_CACHE].get(_progress_key(job.pk))
    committed = job.heartbeat_at.timestamp() if job.heartbeat_at else 0.0
    if published and published["at"] > committed:
        job.done, job.total, job.message = published["done"], published["total"], published["message"]
    return job


Handler = Callable[[JobContext], dict[str, Any]]
_handlers: dict[str, tuple[Handler, str]] = {}


def job_handler(kind: str, *, queue: str = "default") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _handlers[kind] = (handler, queue)
        return handler

    return register


def start_job(kind: str, *, params: dict[str, Any], by: User | None, division_path: str | None = None) -> Job:
    """Create the job row and enqueue it once the surrounding transaction commits."""
    if kind not in _handlers:
        raise KeyError(f"no job handler for {kind!r}")
    job = Job.objects.create(
        kind=kind,
        params=params,
        created_by=by if by is not None and by.pk else None,
        division_id=division_path if division_path is not None else (by.division_id if by else None),
    )
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: Job) -> None:
    from fangkong.core.tasks import run_job

    queue = _handlers[job.kind][1]
    run_job.using(queue_name=queue).enqueue(str(job.pk))


def run_job_now(job_id: str) -> Job:
    """Run (or re-run) a job in this process. Claims it atomically so two workers never run it together."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    claimed = (
        Job.objects.filter(pk=job_id)
        .filter(status=JobStatus.QUEUED)
        .update(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1)
    ) or (
        not _published_since(job_id, stale)
        and Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, heartbeat_at__lt=stale).update(
            heartbeat_at=now, attempts=F("attempts") + 1
        )
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        logger.info("job %s is %s; not running it again", job_id, job.status)
        return job
    handler = _handlers[job.kind][0]
    try:
        result = handler(JobContext(job))
    except DomainError as error:  # bad input: the user gets every row's error, nothing was written
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=str(error.message)[:2000],
            result={"errors": error.details[:1000]},
            finished_at=timezone.now(),
        )
    except Exception as error:
        logger.exception("job %s failed", job_id)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.SUCCEEDED, result=result, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def recover_stale_jobs() -> list[str]:
    """Re-enqueue jobs whose worker died: running with no heartbeat for JOB_STALE_SECONDS (in their row or in
    the progress they published), or queued long ago without a live task (a lost enqueue). Their handlers resume
    from the checkpoint."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    running = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    stale = [job for job in running if not _published_since(job.pk, cutoff)] + list(
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=cutoff)
    )
    for job in stale:
        Job.objects.filter(pk=job.pk, status=job.status).update(status=JobStatus.QUEUED)
        _enqueue(job)
    return [str(job.pk) for job in stale]
