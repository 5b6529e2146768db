"""The check-in import as a background job: loads the import by id and calls the one service. Safe to run
twice: the write is one transaction, so a re-run either finds the import committed (and reports it) or starts
over from the file."""

from __future__ import annotations

from typing import Any

from fangkong.core.jobs import JobContext, job_handler
from fangkong.core.models import User
from fangkong.venues.importing import IMPORT_JOB, import_check_ins
from fangkong.venues.models import CheckInImport


@job_handler(IMPORT_JOB, queue="imports")
def import_check_ins_job(context: JobContext) -> dict[str, Any]:
    params = context.job.params
    check_in_import = CheckInImport.objects.get(pk=params["import_id"])
    if check_in_import.is_imported:  # committed before a restart: report it, write nothing
        return {"rows": check_in_import.rows, "check_ins_created": check_in_import.created}
    creator_id = context.job.created_by_id
    by = User.objects.filter(pk=creator_id).first() if creator_id is not None else None
    result = import_check_ins(
        check_in_import,
        mapping=params["mapping"],
        by=by,
        progress=lambda done, total, message: context.progress(done, total or None, message),
    )
    return dict(result)
