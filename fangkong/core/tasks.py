"""Task-queue entrypoints. Each takes an id, loads, and calls one function; safe to run twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django_tasks import task

from fangkong.core.jobs import JobContext, job_handler, run_job_now
from fangkong.core.services import import_divisions, read_table


@task()
def run_job(job_id: str) -> str:
    return run_job_now(job_id).status


@job_handler("core.import_divisions", queue="imports")
def import_divisions_job(context: JobContext) -> dict[str, Any]:
    """Load an uploaded division CSV. All-or-nothing and keyed on codes, so a re-run after a crash is safe."""
    from fangkong.core.models import User

    creator_id = context.job.created_by_id
    by = User.objects.filter(pk=creator_id).first() if creator_id is not None else None
    rows = read_table(Path(context.job.params["path"]))
    context.progress(0, len(rows), "checking rows")
    result = import_divisions(rows, by=by, progress=lambda done, total: context.progress(done, total))
    context.progress(len(rows), len(rows), "done")
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
