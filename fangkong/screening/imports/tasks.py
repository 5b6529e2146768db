"""The list import as a background job: loads the import by id and calls the one service. Safe to run twice:
the write is one transaction, so a re-run after a crash either finds the import committed (and returns its
counts) or starts over from the file."""

from __future__ import annotations

from typing import Any

from fangkong.core.jobs import JobContext, job_handler
from fangkong.core.models import User
from fangkong.screening.imports.services import IMPORT_JOB, import_list, is_imported
from fangkong.screening.models import ListImport


@job_handler(IMPORT_JOB, queue="imports")
def import_list_job(context: JobContext) -> dict[str, Any]:
    params = context.job.params
    list_import = ListImport.objects.select_related("division").get(pk=params["import_id"])
    if is_imported(list_import):  # committed before a restart: report it, write nothing
        return {"rows": list_import.rows, "entries_created": list_import.created, "import_id": list_import.pk}
    creator_id = context.job.created_by_id
    by = User.objects.filter(pk=creator_id).first() if creator_id is not None else None
    context.checkpoint(phase="started")
    result = import_list(
        list_import,
        mapping=params["mapping"],
        reason=params.get("reason", "arrival"),
        by=by,
        progress=lambda done, total, message: context.progress(done, total or None, message),
    )
    context.checkpoint(phase="committed")
    return {**result.as_dict(), "import_id": list_import.pk}
