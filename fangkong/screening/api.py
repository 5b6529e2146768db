from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fangkong.core.api_access import api_requires
from fangkong.core.roles import Capability
from fangkong.screening import selectors, services
from fangkong.screening.models import PoolEntry

router = Router(tags=["screening"])


class EntryOut(Schema):
    id: int
    person_id: int
    name: str
    phone_masked: str
    document_masked: str
    division: str
    is_unlocated: bool
    reasons: list[str]
    state: str
    edition_id: str
    listed_at: datetime
    locate_due: datetime
    test_due: datetime
    located_at: datetime | None
    tested_at: datetime | None

    @staticmethod
    def resolve_name(entry: PoolEntry) -> str:
        return entry.person.name

    @staticmethod
    def resolve_phone_masked(entry: PoolEntry) -> str:
        return entry.person.masked_phone

    @staticmethod
    def resolve_document_masked(entry: PoolEntry) -> str:
        return entry.person.masked_document

    @staticmethod
    def resolve_division(entry: PoolEntry) -> str:
        return entry.division_id


class AttemptIn(Schema):
    outcome: str
    note: str = ""
    new_division: str | None = None


@router.get("/entries/", response=list[EntryOut])
@api_requires(Capability.SCREENING_VIEW)
@paginate(LimitOffsetPagination)
def list_entries(request: HttpRequest, show: str = "all") -> QuerySet[PoolEntry]:
    return selectors.work_list(request.user, show=show)  # type: ignore[arg-type]


@router.get("/entries/{entry_id}", response=EntryOut)
@api_requires(Capability.SCREENING_VIEW)
def get_entry(request: HttpRequest, entry_id: int) -> PoolEntry:
    return selectors.access_entry(request.user, entry_id)  # type: ignore[arg-type]


@router.post("/entries/{entry_id}/attempts", response=EntryOut)
@api_requires(Capability.SCREENING_WORK)
def record_attempt(request: HttpRequest, entry_id: int, payload: AttemptIn) -> PoolEntry:
    entry = selectors.access_entry(request.user, entry_id)  # type: ignore[arg-type]
    new_division = selectors.community_by_path(payload.new_division) if payload.new_division else None
    return services.record_attempt(
        entry,
        outcome=payload.outcome,
        note=payload.note,
        new_division=new_division,
        by=request.user,  # type: ignore[arg-type]
    )
