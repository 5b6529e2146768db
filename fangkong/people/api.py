from datetime import date, datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fangkong.core.api_access import api_requires
from fangkong.core.roles import Capability
from fangkong.people import selectors, services
from fangkong.people.models import DocumentKind, Person
from fangkong.people.validation import PersonInput

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: date | None
    document_kind: str
    document_number_masked: str
    phone_masked: str
    home_division: str
    address: str

    @staticmethod
    def resolve_document_kind(person: Person) -> str:
        return person.primary_document_kind

    @staticmethod
    def resolve_document_number_masked(person: Person) -> str:
        return person.masked_document

    @staticmethod
    def resolve_phone_masked(person: Person) -> str:
        return person.masked_phone

    @staticmethod
    def resolve_home_division(person: Person) -> str:
        return person.home_division_id


class SourceOut(Schema):
    source: str
    reference: str
    received_at: datetime


class PersonDetailOut(PersonOut):
    sources: list[SourceOut]

    @staticmethod
    def resolve_sources(person: Person) -> list[SourceOut]:
        return [
            SourceOut(source=s.source, reference=s.reference, received_at=s.received_at)
            for s in selectors.sources_of(person)
        ]


class PersonIn(Schema):
    name: str
    division: str
    document_kind: DocumentKind = DocumentKind.RESIDENT_ID
    document_number: str | None = None
    phone: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    address: str | None = None
    source: str = "api"
    reference: str = ""


class RegistrationOut(Schema):
    id: int
    created: bool
    merge_candidates: int


class RevealIn(Schema):
    field: str
    reason: str


class RevealOut(Schema):
    field: str
    value: str


@router.get("/", response=list[PersonOut])
@api_requires(Capability.PEOPLE_VIEW)
@paginate(LimitOffsetPagination)
def list_people(request: HttpRequest, q: str = "", division: str = "") -> QuerySet[Person]:
    return selectors.search_people(request.user, query=q, division=division)  # type: ignore[arg-type]


@router.post("/", response={201: RegistrationOut, 200: RegistrationOut})
@api_requires(Capability.PEOPLE_EDIT)
def register_person(request: HttpRequest, payload: PersonIn) -> tuple[int, RegistrationOut]:
    data = payload.dict()
    source, reference = data.pop("source"), data.pop("reference")
    registration = services.register_person(
        PersonInput(**data),
        source=source,
        reference=reference,
        by=request.user,  # type: ignore[arg-type]
    )
    body = RegistrationOut(
        id=registration.person.pk,
        created=registration.created,
        merge_candidates=len(registration.merge_candidates),
    )
    return (201 if registration.created else 200), body


@router.get("/{person_id}", response=PersonDetailOut)
@api_requires(Capability.PEOPLE_VIEW)
def get_person(request: HttpRequest, person_id: int) -> Person:
    person = selectors.access_person(request.user, person_id)  # type: ignore[arg-type]
    return person


@router.post("/{person_id}/reveal", response=RevealOut)
@api_requires(Capability.PEOPLE_REVEAL)
def reveal(request: HttpRequest, person_id: int, payload: RevealIn) -> RevealOut:
    person = selectors.access_person(request.user, person_id)  # type: ignore[arg-type]
    value = services.reveal_identity(person, field=payload.field, reason=payload.reason, by=request.user)  # type: ignore[arg-type]
    return RevealOut(field=payload.field, value=value)
