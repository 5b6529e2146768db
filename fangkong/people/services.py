"""Every change to the person registry: registration with identity resolution, edits, merges and reveals.

Each service runs in one transaction and writes its audit row inside it (who, what, old and new values, from
where). Identity resolution: the same document means the same person; without a shared document, a record
with the same name and mobile goes to the merge queue for a human to decide. Every call keeps its source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pypinyin import lazy_pinyin

from fangkong.core import audit, bulk
from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.core.models import Division, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.people.models import (
    DocumentKind,
    MergeCandidate,
    MergeStatus,
    Person,
    PersonDocument,
    PersonSource,
    Sex,
)
from fangkong.people.pinyin import name_pinyin
from fangkong.people.validation import PersonInput, ValidPerson, validate_person_input

__all__ = [
    "DocumentKind",
    "PersonInput",
    "Registration",
    "confirm_merge",
    "register_person",
    "reject_merge",
    "reveal_identity",
    "update_person",
]


@dataclass(frozen=True)
class Registration:
    person: Person
    created: bool
    merge_candidates: list[MergeCandidate] = field(default_factory=list)


def _audit_values(person: Person) -> dict[str, Any]:
    """A person's fields as the audit log keeps them: identifiers masked, dates as text."""
    return {
        "name": person.name,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "phone": mask_phone(person.phone),
        "document": mask_id_number(person.primary_document_number),
        "home_division": person.home_division_id,
        "address": person.address,
    }


def _require(user: User, capability: Capability) -> None:
    if not user.can(capability):
        raise PermissionDeniedError()


def _require_division_in_scope(division: Division, user: User) -> None:
    if not is_in_scope(division.path, user):
        raise DomainError(
            _("This community is outside your jurisdiction."), code=ErrorCode.PERMISSION_DENIED, field="division"
        )


def _holder_of_document(valid: ValidPerson) -> Person | None:
    if not valid.document_number:
        return None
    document = (
        PersonDocument.objects.select_related("person")
        .filter(kind=valid.document_kind, number=valid.document_number)
        .first()
    )
    if document is None:
        return None
    person = document.person
    while person.merged_into_id is not None:
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def _create_person(valid: ValidPerson) -> Person:
    person = Person.objects.create(
        name=valid.name,
        pinyin=valid.pinyin or " ".join(lazy_pinyin(valid.name)),
        sex=valid.sex,
        birth_date=valid.birth_date,
        phone=valid.phone,
        phone_tail=valid.phone[-4:],
        primary_document_kind=valid.document_kind,
        primary_document_number=valid.document_number,
        home_division=valid.division,
        address=valid.address,
    )
    if valid.document_number:
        PersonDocument.objects.create(person=person, kind=valid.document_kind, number=valid.document_number)
    return person


def _add_to_existing(
    existing: Person, *, valid: ValidPerson, data: PersonInput, source: str, reference: str, by: User | None
) -> Registration:
    _add_source(existing, data=data, source=source, reference=reference, by=by)
    filled = _fill_missing(existing, valid)
    if filled:
        audit.record(
            "people.person.update",
            by=by,
            target=existing,
            division_path=existing.home_division_id,
            changes=filled,
            reason=str(_("New details from source %(source)s") % {"source": source}),
        )
    else:
        audit.record(
            "people.person.source_added",
            by=by,
            target=existing,
            division_path=existing.home_division_id,
            changes={"source": [None, source]},
        )
    return Registration(person=existing, created=False)


@transaction.atomic
def register_person(
    data: PersonInput,
    *,
    source: str,
    reference: str = "",
    by: User | None,
    check_scope: bool = True,
) -> Registration:
    """Resolve `data` onto the registry: find the person by document or create them; record the source.

    `by=None` is a public channel (a resident's own self-report, phone verified by a one-time code): no
    capability or jurisdiction applies, and the audit row names the system as the actor, from the request's
    origin. Staff always pass themselves."""
    if by is not None:
        _require(by, Capability.PEOPLE_EDIT)
    valid = validate_person_input(data)
    if check_scope and by is not None:
        _require_division_in_scope(valid.division, by)

    existing = _holder_of_document(valid)
    person = None
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent registration of the same document may win
                person = _create_person(valid)
        except IntegrityError:
            existing = _holder_of_document(valid)
            if existing is None:
                raise
    if existing is not None:
        return _add_to_existing(existing, valid=valid, data=data, source=source, reference=reference, by=by)
    assert person is not None

    _add_source(person, data=data, source=source, reference=reference, by=by)
    audit.record(
        "people.person.create",
        by=by,
        target=person,
        division_path=person.home_division_id,
        changes=audit.diff({}, _audit_values(person)),
    )
    candidates = _queue_possible_matches(person)
    return Registration(person=person, created=True, merge_candidates=candidates)


def _fill_missing(person: Person, valid: ValidPerson) -> dict[str, list[Any]]:
    """A later source may add what an earlier one lacked; it never overwrites what is known."""
    before = _audit_values(person)
    if not person.phone and valid.phone:
        person.phone, person.phone_tail = valid.phone, valid.phone[-4:]
    if not person.birth_date and valid.birth_date:
        person.birth_date = valid.birth_date
    if person.sex == Sex.UNKNOWN and valid.sex != Sex.UNKNOWN:
        person.sex = valid.sex
    if not person.address and valid.address:
        person.address = valid.address
    changes = audit.diff(before, _audit_values(person))
    if changes:
        person.save()
    return changes


def _add_source(person: Person, *, data: PersonInput, source: str, reference: str, by: User | None) -> None:
    reported = {
        "name": data.name,
        "document_kind": data.document_kind,
        "document": mask_id_number(data.document_number or ""),
        "phone": mask_phone(data.phone or ""),
        "address": data.address or "",
    }
    if reference:
        PersonSource.objects.get_or_create(
            person=person, source=source, reference=reference, defaults={"data": reported, "recorded_by": by}
        )
    else:
        PersonSource.objects.create(person=person, source=source, data=reported, recorded_by=by)


def _queue_possible_matches(person: Person) -> list[MergeCandidate]:
    if not person.phone:
        return []
    matches = Person.objects.filter(name=person.name, phone=person.phone, merged_into__isnull=True).exclude(
        pk=person.pk
    )
    if person.primary_document_number:  # two different numbers of the same document kind are two people
        matches = matches.exclude(primary_document_kind=person.primary_document_kind, primary_document_number__gt="")
    reason = str(_("Same name and mobile number, no shared document"))
    return [
        MergeCandidate.objects.get_or_create(person=person, other=other, defaults={"reason": reason})[0]
        for other in matches[:20]
    ]


@transaction.atomic
def update_person(person: Person, *, data: PersonInput, reason: str, by: User) -> Person:
    _require(by, Capability.PEOPLE_EDIT)
    if not is_in_scope(person.home_division_id, by):
        raise PermissionDeniedError()
    valid = validate_person_input(data)
    _require_division_in_scope(valid.division, by)
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = _audit_values(person)
    person.name = valid.name
    person.pinyin = valid.pinyin or " ".join(lazy_pinyin(valid.name))
    person.sex = valid.sex
    person.birth_date = valid.birth_date
    person.phone, person.phone_tail = valid.phone, valid.phone[-4:]
    person.home_division = valid.division
    person.address = valid.address
    if valid.document_number and (valid.document_kind, valid.document_number) != (
        person.primary_document_kind,
        person.primary_document_number,
    ):
        owner = PersonDocument.objects.filter(kind=valid.document_kind, number=valid.document_number).first()
        if owner is not None and owner.person_id != person.pk:
            raise DomainError(
                _("Another person already holds this document; use the merge queue."),
                code=ErrorCode.CONFLICT,
                field="document_number",
            )
        if owner is None:
            PersonDocument.objects.create(person=person, kind=valid.document_kind, number=valid.document_number)
        person.primary_document_kind = valid.document_kind
        person.primary_document_number = valid.document_number
    person.save()
    changes = audit.diff(before, _audit_values(person))
    if changes:
        audit.record(
            "people.person.update",
            by=by,
            target=person,
            division_path=person.home_division_id,
            changes=changes,
            reason=reason,
        )
    return person


@transaction.atomic
def confirm_merge(candidate: MergeCandidate, *, by: User) -> Person:
    """Merge `candidate.person` into `candidate.other` (the older record survives): documents and sources move,
    the merged record keeps a pointer to the survivor so old references still resolve."""
    _require(by, Capability.PEOPLE_MERGE)
    candidate = MergeCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != MergeStatus.PENDING:
        raise DomainError(_("This pair has already been decided."), code=ErrorCode.ALREADY_MERGED)
    duplicate, survivor = sorted([candidate.person, candidate.other], key=lambda p: p.pk, reverse=True)
    if not (is_in_scope(survivor.home_division_id, by) and is_in_scope(duplicate.home_division_id, by)):
        raise PermissionDeniedError()
    PersonDocument.objects.filter(person=duplicate).update(person=survivor)
    PersonSource.objects.filter(person=duplicate).update(person=survivor)
    duplicate.merged_into = survivor
    duplicate.save(update_fields=["merged_into", "updated_at"])
    candidate.status = MergeStatus.MERGED
    candidate.decided_by, candidate.decided_at = by, timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    MergeCandidate.objects.filter(status=MergeStatus.PENDING, person=duplicate).update(
        status=MergeStatus.MERGED, decided_by=by, decided_at=timezone.now()
    )
    audit.record(
        "people.person.merge",
        by=by,
        target=duplicate,
        division_path=duplicate.home_division_id,
        changes={"merged_into": [None, survivor.pk]},
    )
    return survivor


@transaction.atomic
def reject_merge(candidate: MergeCandidate, *, by: User) -> MergeCandidate:
    _require(by, Capability.PEOPLE_MERGE)
    candidate = MergeCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != MergeStatus.PENDING:
        raise DomainError(_("This pair has already been decided."), code=ErrorCode.ALREADY_MERGED)
    candidate.status = MergeStatus.DISTINCT
    candidate.decided_by, candidate.decided_at = by, timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        "people.person.merge_rejected",
        by=by,
        target=candidate.person,
        division_path=candidate.person.home_division_id,
        changes={"distinct_from": [None, candidate.other_id]},
    )
    return candidate


REVEALABLE_FIELDS = {"document": "primary_document_number", "phone": "phone"}


@transaction.atomic
def reveal_identity(person: Person, *, field: str, reason: str, by: User) -> str:
    """Return the unmasked value of `field`; needs the reveal capability and a stated reason, and is audited."""
    _require(by, Capability.PEOPLE_REVEAL)
    if not is_in_scope(person.home_division_id, by):
        raise PermissionDeniedError()
    if field not in REVEALABLE_FIELDS:
        raise DomainError(_("This field cannot be revealed."), field="field")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise DomainError(
            _("State why you need the full value (at least 4 characters)."),
            code=ErrorCode.REASON_REQUIRED,
            field="reason",
        )
    audit.record(
        f"people.person.reveal_{field}",
        by=by,
        target=person,
        division_path=person.home_division_id,
        reason=reason,
    )
    value: str = getattr(person, REVEALABLE_FIELDS[field])
    return value


BULK_BATCH = 5000


@transaction.atomic
def bulk_load_people(rows: list[dict[str, Any]], *, source: str, reference: str, by: User | None) -> int:
    """Load many already-validated people at once (a simulated city, a trusted registry extract).

    Rows carry name, sex, birth_date, id_number, phone, community path and address. Documents already in the
    registry are skipped, so loading the same extract twice adds nothing. One audit entry per load names the
    source and the count; each person keeps a provenance row pointing at the extract.
    """
    numbers = [row["id_number"] for row in rows]
    known: set[str] = set()
    for start in range(0, len(numbers), BULK_BATCH):
        known.update(
            PersonDocument.objects.filter(
                kind=DocumentKind.RESIDENT_ID, number__in=numbers[start : start + BULK_BATCH]
            ).values_list("number", flat=True)
        )
    fresh = [row for row in rows if row["id_number"] not in known]
    created = 0
    for start in range(0, len(fresh), BULK_BATCH):
        batch = fresh[start : start + BULK_BATCH]
        people = Person.objects.bulk_create(
            [
                Person(
                    name=row["name"],
                    pinyin=row.get("pinyin", ""),
                    sex=row["sex"],
                    birth_date=row["birth_date"],
                    phone=row["phone"],
                    phone_tail=row["phone"][-4:],
                    primary_document_kind=DocumentKind.RESIDENT_ID,
                    primary_document_number=row["id_number"],
                    home_division_id=row["division"],
                    address=row.get("address", ""),
                    household_key=row.get("household_key", ""),
                    workplace_key=row.get("workplace_key", ""),
                    class_key=row.get("class_key", ""),
                )
                for row in batch
            ],
            batch_size=1000,
        )
        if not all(p.pk for p in people):  # backends without RETURNING: look the ids up
            ids = dict(
                Person.objects.filter(primary_document_number__in=[r["id_number"] for r in batch]).values_list(
                    "primary_document_number", "pk"
                )
            )
            for person in people:
                person.pk = ids[person.primary_document_number]
        PersonDocument.objects.bulk_create(
            [PersonDocument(person=p, kind=DocumentKind.RESIDENT_ID, number=p.primary_document_number) for p in people],
            batch_size=1000,
        )
        PersonSource.objects.bulk_create(
            [PersonSource(person=p, source=source, reference=reference, recorded_by=by, data={}) for p in people],
            batch_size=1000,
        )
        created += len(people)
    audit.record(
        "people.person.bulk_load",
        by=by,
        target_type="people.person",
        target_id="*",
        changes={"source": [None, source], "reference": [None, reference], "created": [0, created]},
    )
    return created


# --- Bulk resolution for list imports -------------------------------------------------------------------------
# A screening list of a million rows cannot go through register_person one by one. These helpers resolve and
# create in batches, with the same identity rule (same document → same person, following merges; without a
# document, an existing record with the same name and mobile), and write no audit rows of their own: they run
# inside the caller's transaction, whose one audit entry names the file and the counts.

IdentityKey = tuple[str, str, str]  # ("document", kind, number) or ("phone", name, mobile)


class BulkPerson(NamedTuple):
    """A checked person from a list row (values already normalised and validated). A tuple, not a dataclass:
    a million of them are built (in the list import's check processes) and pickled between processes."""

    key: IdentityKey
    name: str
    document_kind: str
    document_number: str
    phone: str
    address: str
    home_division: str  # a community path, or a county/city path for someone whose address resolved nowhere
    # Derived values a caller may have computed already (the list import does, in its parallel check); for
    # new people they are computed here otherwise: `name_pinyin(name)`, and `birth_date_and_sex(kind, number)`.
    pinyin: str = ""
    birth_date: date | None = None
    sex: str = ""  # '' = not computed


NewRecord = tuple[int, str, str, str, str]  # id, name, mobile, document kind, document number


@dataclass(frozen=True)
class BulkResolution:
    person_of: dict[IdentityKey, int]
    home_of: dict[int, str]  # person id → home division path
    created: int
    created_ids: frozenset[int] = frozenset()  # the people this call created (none of them is in any pool yet)
    # (id, name, mobile, document kind, document number) of the created people that have a mobile, as written:
    # what bulk_queue_possible_matches would otherwise read back by id.
    created_records: Sequence[NewRecord] = ()


def _batches(items: list[Any], size: int = BULK_BATCH) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _survivors(person_ids: set[int]) -> dict[int, int]:
    """person id → the surviving record's id, for records merged away (chains followed)."""
    survivors: dict[int, int] = {}
    pending = sorted(person_ids)
    while pending:
        found: dict[int, int] = {}
        for batch in _batches(pending):
            found.update(
                (pk, survivor)
                for pk, survivor in Person.objects.filter(pk__in=batch, merged_into__isnull=False).values_list(
                    "pk", "merged_into_id"
                )
                if survivor is not None
            )
        survivors.update(found)
        pending = sorted(s for s in set(found.values()) if s not in survivors)
    for merged in list(survivors):
        target = survivors[merged]
        while target in survivors:
            target = survivors[target]
        survivors[merged] = target
    return survivors


def birth_date_and_sex(kind: str, number: str) -> tuple[date | None, str]:
    """From an 18-character resident ID number; (None, unknown) for other documents."""
    if kind != DocumentKind.RESIDENT_ID or len(number) != 18:
        return None, Sex.UNKNOWN
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return born, Sex.MALE if int(number[16]) % 2 else Sex.FEMALE


_PERSON_COLUMNS = (
    "id",
    "name",
    "pinyin",
    "sex",
    "birth_date",
    "phone",
    "phone_tail",
    "primary_document_kind",
    "primary_document_number",
    "home_division_id",
    "address",
)


LOOKUP_BATCH = 10_000
MATCHES_PER_RECORD = 20  # as register_person's merge queue


def _among(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """`column IN (…)` for a batch of values: one array parameter on PostgreSQL (psycopg splits a statement
    with 10,000 placeholders in Python, ~0.5 CPU-s per 100,000 values), placeholders elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _document_holders(kind: str, numbers: list[str]) -> list[tuple[str, int]]:
    """(number, person id) for the numbers of `kind` already in the registry. Plain SQL in batches: building
    Django lookups with thousands of parameters cost seconds per million numbers."""
    quoted = connection.ops.quote_name
    meta = PersonDocument._meta
    columns = {field.name: quoted(str(field.column)) for field in meta.concrete_fields}
    found: list[tuple[str, int]] = []
    with connection.cursor() as cursor:
        for batch in _batches(numbers, LOOKUP_BATCH):
            among, values = _among(columns["number"], batch)
            cursor.execute(
                f"SELECT {columns['number']}, {columns['person']} FROM {quoted(meta.db_table)} "  # noqa: S608
                f"WHERE {columns['kind']} = %s AND {among}",
                [kind, *values],
            )
            found.extend(cursor.fetchall())
    return found


class PeopleColumns(NamedTuple):
    """`BulkPerson` fields as one list each: how a chunked load hands its people over (`BulkResolver`)."""

    key: list[IdentityKey]
    name: list[str]
    document_kind: list[str]
    document_number: list[str]
    phone: list[str]
    address: list[str]
    home_division: list[str]
    pinyin: list[str]
    birth_date: list[date | None]
    sex: list[str]

    @classmethod
    def of(cls, people: Sequence[BulkPerson]) -> PeopleColumns:
        if not people:
            return cls(*([] for _ in cls._fields))
        return cls(*map(list, zip(*people, strict=True)))


class BulkResolver:
    """Find people in the registry or create them, in one or more calls inside one transaction (a list written
    chunk by chunk): same document → same person (following merges); without a document, an unmerged record
    with the same name and mobile; otherwise a new person. A person met in an earlier call is not looked up
    again. Each call writes its new people and their documents (derived from the person rows in one statement);
    `finish()` returns the resolution.

    New people are written with `core.bulk` (ids allocated up front, executemany/COPY of plain tuples). The
    look-ups of one call are plain SQL in batches through the document index and the mobile index: a load
    that defers the person table's indexes (`core.bulk.indexes_deferred`) keeps the mobile index."""

    def __init__(self) -> None:
        self.person_of: dict[IdentityKey, int] = {}
        self.home_of: dict[int, str] = {}
        self.created_ids: set[int] = set()  # the people created so far (none of them is in any pool yet)
        self._created_records: list[NewRecord] = []
        self._stored_date: dict[Any, Any] = {}  # birth date → as stored, once per distinct date
        self._now = timezone.now()

    def resolve(self, people: PeopleColumns) -> list[int]:
        """The person id of each row of `people`, creating the people not found."""
        person_of = self.person_of
        self._find({key for key in people.key if key not in person_of})
        fresh: dict[IdentityKey, int] = {}  # a new person's key → the first row that has it
        for index, key in enumerate(people.key):
            if key not in person_of and key not in fresh:
                fresh[key] = index
        ids = bulk.allocate_ids(Person, len(fresh))
        rows = []
        documents = 0
        stored_date = self._stored_date
        for pk, (key, index) in zip(ids, fresh.items(), strict=True):
            name, kind, number, phone = (
                people.name[index],
                people.document_kind[index],
                people.document_number[index],
                people.phone[index],
            )
            born, sex = (
                (people.birth_date[index], people.sex[index]) if people.sex[index] else birth_date_and_sex(kind, number)
            )
            if born not in stored_date:
                stored_date[born] = bulk.db_date(born)
            home = people.home_division[index]
            rows.append(
                (
                    pk,
                    name,
                    people.pinyin[index] or name_pinyin(name),
                    sex,
                    stored_date[born],
                    phone,
                    phone[-4:],
                    kind,
                    number,
                    home,
                    people.address[index],
                )
            )
            person_of[key] = pk
            self.home_of[pk] = home
            if phone:
                self._created_records.append((pk, name, phone, kind, number))
            documents += bool(number)
        bulk.insert_rows(Person, _PERSON_COLUMNS, rows, now=self._now)
        self._add_documents(ids, documents)
        self.created_ids.update(ids)
        return [person_of[key] for key in people.key]

    def _find(self, keys: set[IdentityKey]) -> None:
        """Look `keys` up in the registry (documents, then names and mobiles), following merges."""
        owners: dict[IdentityKey, int] = {}
        for kind in {k[1] for k in keys if k[0] == "document"}:
            numbers = sorted(k[2] for k in keys if k[0] == "document" and k[1] == kind)
            for number, person_id in _document_holders(kind, numbers):
                owners[("document", kind, number)] = person_id
        wanted = {(k[1], k[2]) for k in keys if k[0] == "phone"}
        for batch in _batches(sorted({phone for _name, phone in wanted})):
            for name, phone, person_id, merged_into in (
                Person.objects.filter(phone__in=batch)  # merged records dropped below: see bulk_queue_possible_matches
                .order_by("pk")
                .values_list("name", "phone", "pk", "merged_into_id")
            ):
                if merged_into is None and (name, phone) in wanted:
                    owners.setdefault(("phone", name, phone), person_id)
        if not owners:
            return
        survivors = _survivors(set(owners.values()))
        found = {key: survivors.get(pid, pid) for key, pid in owners.items()}
        self.person_of.update(found)
        unknown = sorted({pid for pid in found.values() if pid not in self.home_of})
        for batch in _batches(unknown):
            self.home_of.update(
                (pk, str(home))
                for pk, home in Person.objects.filter(pk__in=batch).values_list("pk", "home_division_id")
            )

    def _add_documents(self, ids: list[int], documents: int) -> None:
        """Each new person's document, as written on the person row: derived in the database, no row through
        Python."""
        quoted = connection.ops.quote_name
        created, created_params = bulk.id_block_condition(quoted("id"), ids)
        bulk.insert_select(
            PersonDocument,
            ("person_id", "kind", "number"),
            f"SELECT {quoted('id')}, {quoted('primary_document_kind')}, {quoted('primary_document_number')}"  # noqa: S608
            f" FROM {quoted(Person._meta.db_table)} WHERE {created} AND {quoted('primary_document_number')} <> ''"
            f" ORDER BY {quoted('id')}",
            created_params,
            now=self._now,
            expected=documents,
        )

    def finish(self) -> BulkResolution:
        """The resolution of every call so far."""
        return BulkResolution(
            person_of=self.person_of,
            home_of=self.home_of,
            created=len(self.created_ids),
            created_ids=frozenset(self.created_ids),
            created_records=self._created_records,
        )


def bulk_resolve_people(people: Sequence[BulkPerson], *, insert_batch: int = 2000) -> BulkResolution:
    """Find each person in the registry or create them (with their document), in one call of `BulkResolver`.
    Call inside a transaction. `insert_batch` is kept for callers and no longer matters."""
    resolver = BulkResolver()
    resolver.resolve(PeopleColumns.of(people))
    return resolver.finish()


def bulk_add_sources(
    items: list[tuple[int, str, dict[str, Any] | str]], *, source: str, by: User | None, insert_batch: int = 2000
) -> int:
    """Provenance rows (person id, reference, masked data) for many people. Call inside a transaction.

    `data` may be given already as JSON text (`core.bulk.db_json`) when the caller serialises it anyway."""
    actor = by.pk if by is not None and by.pk else None
    return bulk.insert_rows(
        PersonSource,
        ("person_id", "source", "reference", "recorded_by_id", "data"),
        (
            (person_id, source, reference, actor, data if isinstance(data, str) else bulk.db_json(data))
            for person_id, reference, data in items
        ),
        expected=len(items),
    )


def bulk_add_sources_from(select: str, params: Sequence[Any], *, by: User | None, expected: int) -> int:
    """Provenance rows derived in the database: `select` yields (person id, source, reference, data) — e.g.
    from a ledger's rows written earlier in the transaction, which hold the same masked row — with no Python
    step per row. `expected` is the row count. Call inside a transaction."""
    actor = by.pk if by is not None and by.pk else None
    return bulk.insert_select(
        PersonSource,
        ("person_id", "source", "reference", "data"),
        select,
        params,
        constants={"recorded_by_id": actor},
        expected=expected,
    )


def bulk_queue_possible_matches(
    person_ids: list[int] | frozenset[int], *, new_records: Sequence[NewRecord] | None = None
) -> int:
    """The merge queue for people a bulk load created, by `register_person`'s rule: another unmerged record
    with the same name and mobile and no shared document (two different numbers of the same document kind are
    two people) becomes a candidate pair, the new record against the older one, at most 20 per record. Call
    inside a transaction; returns the number of pairs queued.

    `new_records` are the new people with a mobile as the caller wrote them (`BulkResolution.created_records`);
    without them they are read back by id. Matched in Python, not by a self-join (which let SQLite's planner
    scan the table once per batch — ~460 CPU-seconds at 1 M new records): the other records with one of the
    new mobiles are read through the mobile index in batches of plain SQL (Django lookups with 10,000
    parameters cost ~2 CPU-s per 100,000 new records), leaving out the new ids when they are one block, as
    `core.bulk.allocate_ids` gives them; when no record outside that block exists at all (a first load), there
    is nothing to read."""
    if not person_ids:
        return 0
    ids = sorted(person_ids)
    created = frozenset(ids)
    same: dict[tuple[str, str], list[tuple[int, str, str]]] = {}  # (name, mobile) → (id, kind, number)
    if new_records is None:
        read = _people_by_id(ids)
        new = [row[:5] for row in read if row[2]]
        unmerged = [row[:5] for row in read if row[2] and row[5] is None]
    else:
        new = unmerged = [record for record in new_records if record[2]]  # just created: none is merged
    lowest, highest = ids[0], ids[-1]
    is_block = highest - lowest + 1 == len(ids)
    if not is_block or _has_records_outside(lowest, highest):
        for pk, name, phone, kind, number, merged_into in _people_with_mobiles(
            sorted({record[2] for record in new}), outside=(lowest, highest) if is_block else None
        ):
            if merged_into is None and pk not in created:
                same.setdefault((name, phone), []).append((pk, kind, number))
    # Only names and mobiles held by two records or more can make a pair: a new one that is alone in this load
    # and among the older records is left out before any grouping and sorting (almost every row of a list).
    in_load = Counter([(name, phone) for _pk, name, phone, _kind, _number in unmerged])
    for pk, name, phone, kind, number in unmerged:
        if in_load[(name, phone)] > 1 or (name, phone) in same:
            same.setdefault((name, phone), []).append((pk, kind, number))
    for group in same.values():
        group.sort()
    reason = str(_("Same name and mobile number, no shared document"))
    pairs: list[tuple[int, int, str]] = []
    for person_id, name, phone, kind, number in sorted(record for record in new if (record[1], record[2]) in same):
        older = same[(name, phone)]
        if len(older) < 2:
            continue  # only the record itself
        found = 0
        for other_id, other_kind, other_number in older:
            if other_id >= person_id or found >= MATCHES_PER_RECORD:
                break
            if number and other_kind == kind and other_number:
                continue  # two numbers of one document kind: two people
            pairs.append((person_id, other_id, reason))
            found += 1
    return bulk.insert_rows(MergeCandidate, ("person_id", "other_id", "reason"), pairs)


def _person_columns() -> tuple[str, dict[str, str]]:
    quoted = connection.ops.quote_name
    meta = Person._meta
    return quoted(meta.db_table), {field.attname: quoted(str(field.column)) for field in meta.concrete_fields}


PersonRow = tuple[int, str, str, str, str, int | None]  # NewRecord and merged_into


def _people_by_id(ids: list[int]) -> list[PersonRow]:
    """(id, name, mobile, kind, number, merged into) of the people among `ids`."""
    table, column = _person_columns()
    rows: list[PersonRow] = []
    with connection.cursor() as cursor:
        for batch in _batches(ids, LOOKUP_BATCH):
            among, values = _among(column["id"], batch)
            cursor.execute(f"SELECT {_ROW_COLUMNS.format(**column)} FROM {table} WHERE {among}", values)  # noqa: S608
            rows.extend(cursor.fetchall())
    return rows


def _has_records_outside(lowest: int, highest: int) -> bool:
    """Whether any person's id lies outside lowest..highest (two primary-key probes)."""
    table, column = _person_columns()
    with connection.cursor() as cursor:
        for comparison, bound in (("<", lowest), (">", highest)):
            cursor.execute(f"SELECT 1 FROM {table} WHERE {column['id']} {comparison} %s LIMIT 1", [bound])  # noqa: S608
            if cursor.fetchone() is not None:
                return True
    return False


def _people_with_mobiles(phones: list[str], *, outside: tuple[int, int] | None) -> list[PersonRow]:
    """(id, name, mobile, kind, number, merged into) of the people with one of `phones`, through the mobile
    index; with `outside`, only ids outside that range. Merged records are left to the caller, not dropped in
    SQL: with `merged_into IS NULL` in the query SQLite's planner took the merged_into index (NULL on every
    row) over the mobile index and scanned the table per batch; the id condition is written `id + 0` for the
    same reason (no rowid range scan)."""
    table, column = _person_columns()
    range_condition = ""
    extra: list[int] = []
    if outside is not None:
        range_condition = f" AND ({column['id']} + 0 < %s OR {column['id']} + 0 > %s)"
        extra = list(outside)
    rows: list[PersonRow] = []
    with connection.cursor() as cursor:
        for batch in _batches(phones, LOOKUP_BATCH):
            among, values = _among(column["phone"], batch)
            cursor.execute(
                f"SELECT {_ROW_COLUMNS.format(**column)} FROM {table} WHERE {among}{range_condition}",  # noqa: S608
                [*values, *extra],
            )
            rows.extend(cursor.fetchall())
    return rows


_ROW_COLUMNS = "{id}, {name}, {phone}, {primary_document_kind}, {primary_document_number}, {merged_into_id}"


@transaction.atomic
def register_mobile_only(phone: str, *, division: Division, source: str, reference: str, by: User | None) -> Person:
    """Someone known only by a mobile number (a spatio-temporal companion from carrier data): found by the
    number if the registry has it, else recorded with the number alone, to be identified when reached."""
    from fangkong.core.phones import PhoneError, normalize_mobile

    try:
        phone = normalize_mobile(phone)
    except PhoneError as error:
        raise DomainError(str(error), field="phone") from error
    existing = Person.objects.filter(phone=phone, merged_into__isnull=True).order_by("pk").first()
    if existing is not None:
        return existing
    person = Person.objects.create(
        name=str(_("Mobile %(phone)s") % {"phone": mask_phone(phone)}),
        phone=phone,
        phone_tail=phone[-4:],
        home_division=division,
    )
    PersonSource.objects.create(person=person, source=source, reference=reference, data={"phone": mask_phone(phone)})
    audit.record(
        "people.person.create",
        by=by,
        target=person,
        division_path=division.path,
        changes=audit.diff({}, _audit_values(person)),
    )
    return person
