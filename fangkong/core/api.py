from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fangkong.core import selectors
from fangkong.core.api_access import api_requires
from fangkong.core.models import Division, Job
from fangkong.core.roles import Capability

router = Router(tags=["core"])


class DivisionOut(Schema):
    code: str
    path: str
    name: str
    level: str
    parent: str | None

    @staticmethod
    def resolve_parent(division: Division) -> str | None:
        return division.parent.path if division.parent else None


class JobOut(Schema):
    id: UUID
    kind: str
    status: str
    done: int
    total: int
    percent: int
    message: str
    result: dict[str, object]
    error: str
    created_at: datetime
    finished_at: datetime | None


@router.get("/divisions/", response=list[DivisionOut])
@api_requires(Capability.DIVISIONS_VIEW)
@paginate(LimitOffsetPagination)
def list_divisions(request: HttpRequest, level: str = "", parent: str = "") -> QuerySet[Division]:
    return selectors.divisions_in_scope(request.user, level=level, parent=parent)  # type: ignore[arg-type]


@router.get("/jobs/{job_id}", response=JobOut)
@api_requires(Capability.JOBS_VIEW)
def get_job(request: HttpRequest, job_id: UUID) -> Job:
    return selectors.access_job(request.user, str(job_id))  # type: ignore[arg-type]
