"""Task-queue entrypoints. Each takes an id, loads, and calls one function; safe to run twice."""

from __future__ import annotations

from django_tasks import task

from fangkong.core.jobs import run_job_now


@task()
def run_job(job_id: str) -> str:
    return run_job_now(job_id).status
