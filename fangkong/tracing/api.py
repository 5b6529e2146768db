from datetime import date, datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fangkong.core.api_access import api_requires
from fangkong.core.roles import Capability
from fangkong.tracing import selectors
from fangkong.tracing.models import Case, Contact

router = Router(tags=["tracing"])


class ContactOut(Schema):
    id: int
    name: str
    category: str
    status: str
    setting: str
    quarantine_until: date | None
    monitoring_until: date | None
    test_dates: list[str]

    @staticmethod
    def resolve_name(contact: Contact) -> str:
        return contact.person.name


class CaseOut(Schema):
    id: int
    number: str
    name: str
    kind: str
    division: str
    onset_date: date | None
    first_positive_at: datetime
    reported_at: datetime
    edition_id: str
    cluster: str

    @staticmethod
    def resolve_name(case: Case) -> str:
        return case.person.name

    @staticmethod
    def resolve_division(case: Case) -> str:
        return case.division_id


class CaseDetailOut(CaseOut):
    contacts: list[ContactOut]

    @staticmethod
    def resolve_contacts(case: Case) -> list[Contact]:
        return list(selectors.contacts_of(case))


@router.get("/", response=list[CaseOut])
@api_requires(Capability.TRACING_VIEW)
@paginate(LimitOffsetPagination)
def list_cases(request: HttpRequest, q: str = "") -> QuerySet[Case]:
    return selectors.cases_for(request.user, query=q)  # type: ignore[arg-type]


@router.get("/{case_id}", response=CaseDetailOut)
@api_requires(Capability.TRACING_VIEW)
def get_case(request: HttpRequest, case_id: int) -> Case:
    return selectors.access_case(request.user, case_id)  # type: ignore[arg-type]
