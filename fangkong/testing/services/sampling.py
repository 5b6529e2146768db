"""Sampling: a scan of a person's code and a tube barcode becomes a Sample in that tube.

Rules (each refused with a field and a code, see `TestingErrorCode` and `codes.CodeErrorCode`):
- the tube barcode must have the barcode format (`codes.normalize_barcode`); a tube is created by its first scan
  at a site in a round, with the round's pool size as capacity, and closes when it holds that many swabs;
- a barcode belongs to one site and one round forever: scanning it anywhere else is `tube_used`; a closed (or
  handed-over, resulted…) tube is `tube_closed`; a scan into a full tube is `tube_full` — the slot counter
  moves under a row lock (`select_for_update`), and a check constraint forbids over-filling in the database;
- the person is found by resident ID number or by personal QR (`codes.parse_person_code`); an unknown ID
  number with a name is registered on the spot (single scans through `people.services.register_person`,
  batches through `people.services.bulk_resolve_people`) and flagged `registered_on_spot`; without a name it
  is `person_unknown`;
- a second swab of the same person in the same round is stored with `is_duplicate` (it is physically in its
  tube) and a `duplicate_in_round` flag pointing at the first one — never silently;
- `sampled_at` must fall inside the round's window and not in the future (devices upload late, not early).

Idempotency: each item may carry the device's own key; an item whose (device, key) is already stored is
answered as `replayed` with the stored sample and changes nothing. One scan: `services.scan` (the common case
in a few statements, the rest through `register_one` here); device batches: `services.batches`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit, phones
from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.roles import Capability
from fangkong.core.text import normalize_text
from fangkong.people.models import DocumentKind, Person, PersonDocument
from fangkong.people.services import register_person
from fangkong.people.validation import PersonInput
from fangkong.testing.codes import CodeError, PersonCode, normalize_barcode, parse_person_code
from fangkong.testing.models import (
    FlagKind,
    RoundStatus,
    Sample,
    SamplePurpose,
    SamplingFlag,
    SamplingSite,
    TestRound,
    Tube,
    TubeStatus,
)
from fangkong.testing.services.common import TestingError, TestingErrorCode, code_of, require, require_in_scope

FUTURE_SLACK = timedelta(minutes=10)  # device clocks drift; later than this is a wrong clock, refused
PERSON_SOURCE = "testing"
_ATTEMPTS = 3


@dataclass(frozen=True)
class SampleItem:
    """One scan as a device or the station page sends it."""

    person_code: str
    tube_barcode: str
    sampled_at: datetime | None = None  # default: now
    key: str = ""  # the device's own id for this scan (idempotency); empty = none
    name: str = ""  # for an unknown person: registered on the spot with this name
    phone: str = ""
    home_division: str = ""  # community path of an unknown person; default the site's community
    sampler_id: int | None = None


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class ItemAccepted:
    index: int
    sample_id: int
    person_id: int
    tube_barcode: str
    is_duplicate: bool  # a second swab in this round: stored and flagged
    tube_closed: bool  # this scan filled the tube
    person_created: bool  # registered on the spot
    replayed: bool = False  # already registered earlier (same device + key): nothing changed


@dataclass
class _Row:
    index: int
    item: SampleItem
    barcode: str = ""
    code: PersonCode = field(default_factory=PersonCode)
    sampled_at: datetime | None = None
    person_id: int | None = None
    person_created: bool = False


def _check_site_and_round(site: SamplingSite, test_round: TestRound, by: User | None) -> None:
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(site.division_id, by)
    if not str(site.division_id).startswith(str(test_round.division_id)):
        raise TestingError(
            _("This site is outside the round's area."), code=TestingErrorCode.OUTSIDE_ROUND, field="site"
        )
    if test_round.status == RoundStatus.PLANNED:
        raise TestingError(
            _("Round %(round)s has not started sampling.") % {"round": test_round.name},
            code=TestingErrorCode.ROUND_NOT_OPEN,
            field="round",
        )
    if not site.is_active:
        raise TestingError(_("This sampling site is closed."), code=TestingErrorCode.INVALID, field="site")


def _parse(rows: list[_Row], test_round: TestRound, sampler_ids: set[int], now: datetime) -> list[ItemError]:
    """Format checks that need no database: barcode, person code, time, sampler."""
    errors: list[ItemError] = []
    for row in rows:
        item = row.item
        try:
            row.barcode = normalize_barcode(item.tube_barcode)
        except CodeError as error:
            errors.append(ItemError(row.index, "tube_barcode", str(error.code), error.message))
            continue
        try:
            row.code = parse_person_code(item.person_code)
        except CodeError as error:
            errors.append(ItemError(row.index, "person_code", str(error.code), error.message))
            continue
        at = item.sampled_at or now
        if timezone.is_naive(at):
            errors.append(
                ItemError(row.index, "sampled_at", TestingErrorCode.SAMPLED_AT, _("Give the time with its time zone."))
            )
            continue
        if at > now + FUTURE_SLACK:
            errors.append(
                ItemError(
                    row.index,
                    "sampled_at",
                    TestingErrorCode.SAMPLED_AT,
                    _("The sampling time is in the future; check the device's clock."),
                )
            )
            continue
        if not test_round.starts_at <= at <= test_round.ends_at:
            errors.append(
                ItemError(
                    row.index,
                    "sampled_at",
                    TestingErrorCode.OUTSIDE_ROUND,
                    _("The sampling time is outside round %(round)s.") % {"round": test_round.name},
                )
            )
            continue
        if item.sampler_id is not None and item.sampler_id not in sampler_ids:
            errors.append(
                ItemError(
                    row.index, "sampler_id", TestingErrorCode.INVALID, _("This sampler does not work at this site.")
                )
            )
            continue
        if len(item.key) > 80:
            errors.append(ItemError(row.index, "key", TestingErrorCode.INVALID, _("The item key is too long.")))
            continue
        row.sampled_at = at
    return errors


def _replays(rows: list[_Row], device_id: str) -> tuple[list[_Row], list[ItemAccepted]]:
    """Items already stored under the same (device, key): answered from the database, not registered again."""
    keys = sorted({row.item.key for row in rows if row.item.key})
    if not keys:
        return rows, []
    stored = {
        key: (pk, person_id, barcode, duplicate)
        for key, pk, person_id, barcode, duplicate in Sample.objects.filter(
            device_id=device_id, idempotency_key__in=keys
        )
        .exclude(idempotency_key="")  # the partial unique index's condition, so the planner uses it
        .values_list("idempotency_key", "pk", "person_id", "tube__barcode", "is_duplicate")
    }
    fresh: list[_Row] = []
    replayed: list[ItemAccepted] = []
    for row in rows:
        found = stored.get(row.item.key) if row.item.key else None
        if found is None:
            fresh.append(row)
        else:
            pk, person_id, barcode, duplicate = found
            replayed.append(ItemAccepted(row.index, pk, person_id, barcode, duplicate, False, False, replayed=True))
    return fresh, replayed


def _person_details(row: _Row, site: SamplingSite, communities: set[str]) -> tuple[str, str, str] | ItemError:
    """(name, phone, community) for registering an unknown person, or the error that prevents it."""
    name = " ".join(normalize_text(row.item.name).split())
    if not name:
        return ItemError(
            row.index,
            "person_code",
            TestingErrorCode.PERSON_UNKNOWN,
            _("This person is not in the registry: enter their name to register them here."),
        )
    if len(name) > 100:
        return ItemError(row.index, "name", TestingErrorCode.INVALID, _("The name is too long."))
    phone = ""
    if row.item.phone.strip():
        try:
            phone = phones.normalize_mobile(row.item.phone)
        except phones.PhoneError:
            return ItemError(row.index, "phone", TestingErrorCode.INVALID, _("Not a valid mainland mobile number."))
    home = row.item.home_division.strip() or str(site.division_id)
    if home not in communities:
        return ItemError(row.index, "home_division", TestingErrorCode.INVALID, _("Choose a village or community."))
    return name, phone, home


def _resolve_one(row: _Row, site: SamplingSite) -> None:
    """The single-scan path: an unknown person goes through the registry's full identity resolution."""
    if row.code.person_id is not None:
        person = Person.objects.filter(pk=row.code.person_id).first()
        if person is None:
            raise TestingError(
                _("No person has this QR code."), code=TestingErrorCode.PERSON_UNKNOWN, field="person_code"
            )
        while person.merged_into_id is not None:
            person = Person.objects.get(pk=person.merged_into_id)
        row.person_id = person.pk
        return
    document = (
        PersonDocument.objects.filter(kind=DocumentKind.RESIDENT_ID, number=row.code.document_number)
        .values_list("person_id", "person__merged_into_id")
        .first()
    )
    if document is not None:
        person_id, merged_into = document
        while merged_into is not None:
            person_id, merged_into = (
                merged_into,
                Person.objects.filter(pk=merged_into).values_list("merged_into_id", flat=True).first(),
            )
        row.person_id = person_id
        return
    communities = set(
        Division.objects.filter(
            path__in={row.item.home_division.strip() or str(site.division_id)}, level=DivisionLevel.COMMUNITY
        ).values_list("path", flat=True)
    )
    details = _person_details(row, site, communities)
    if isinstance(details, ItemError):
        raise TestingError(details.message, code=TestingErrorCode(details.code), field=details.field)
    name, phone, home = details
    registration = register_person(
        PersonInput(name=name, division=home, document_number=row.code.document_number, phone=phone or None),
        source=PERSON_SOURCE,
        reference=f"site:{site.pk}",
        by=None,  # the sampler acts under TESTING_SAMPLE; the sample's audit row names them
        check_scope=False,
    )
    row.person_id = registration.person.pk
    row.person_created = registration.created


def _allocate(
    rows: list[_Row], site: SamplingSite, test_round: TestRound, by: User | None, device_id: str
) -> tuple[list[ItemAccepted], list[ItemError], list[Sample]]:
    """Lock the tubes, fill their slots in scan order, insert the samples and flags. Runs in a savepoint."""
    errors: list[ItemError] = []
    barcodes = sorted({row.barcode for row in rows})
    first_scan: dict[str, datetime] = {}
    for row in rows:
        assert row.sampled_at is not None
        first_scan[row.barcode] = min(first_scan.get(row.barcode, row.sampled_at), row.sampled_at)
    Tube.objects.bulk_create(
        [
            Tube(
                barcode=barcode,
                round=test_round,
                site=site,
                division_id=site.division_id,
                capacity=test_round.pool_size,
                opened_at=first_scan[barcode],
            )
            for barcode in barcodes
        ],
        ignore_conflicts=True,
    )
    tubes = {
        tube.barcode: tube for tube in Tube.objects.select_for_update().filter(barcode__in=barcodes).order_by("barcode")
    }
    person_ids = sorted({row.person_id for row in rows if row.person_id is not None})
    first_sample = dict(
        Sample.objects.filter(
            round=test_round, purpose=SamplePurpose.ROUND, is_duplicate=False, person_id__in=person_ids
        ).values_list("person_id", "pk")
    )
    in_batch: dict[int, int] = {}  # person → index of their first row in this batch
    filled: dict[str, int] = {}
    closed_by: dict[str, int] = {}  # barcode → index of the row that took the last slot
    placed: list[tuple[_Row, Tube, bool, int, datetime]] = []
    for row in rows:
        tube = tubes[row.barcode]
        if tube.round_id != test_round.pk or tube.site_id != site.pk:
            errors.append(
                ItemError(
                    row.index,
                    "tube_barcode",
                    TestingErrorCode.TUBE_USED,
                    _("Tube %(barcode)s was already used elsewhere; a barcode is never reused.")
                    % {"barcode": row.barcode},
                )
            )
            continue
        if tube.status != TubeStatus.OPEN:
            errors.append(
                ItemError(
                    row.index,
                    "tube_barcode",
                    TestingErrorCode.TUBE_CLOSED,
                    _("Tube %(barcode)s is closed; take a new tube.") % {"barcode": row.barcode},
                )
            )
            continue
        count = filled.get(row.barcode, tube.sample_count)
        if count >= tube.capacity:
            errors.append(
                ItemError(
                    row.index,
                    "tube_barcode",
                    TestingErrorCode.TUBE_FULL,
                    _("Tube %(barcode)s already holds %(capacity)d people; take a new tube.")
                    % {"barcode": row.barcode, "capacity": tube.capacity},
                )
            )
            continue
        filled[row.barcode] = count + 1
        if count + 1 >= tube.capacity:
            closed_by[row.barcode] = row.index
        assert row.person_id is not None
        assert row.sampled_at is not None
        duplicate = row.person_id in first_sample or row.person_id in in_batch
        in_batch.setdefault(row.person_id, row.index)
        placed.append((row, tube, duplicate, row.person_id, row.sampled_at))

    actor = by if by is not None and by.pk else None
    samples = [
        Sample(
            person_id=person_id,
            tube=tube,
            round=test_round,
            site=site,
            division_id=site.division_id,
            purpose=SamplePurpose.ROUND,
            is_duplicate=duplicate,
            sampled_at=sampled_at,
            sampler_id=row.item.sampler_id,
            device_id=device_id,
            idempotency_key=row.item.key,
            recorded_by=actor,
        )
        for row, tube, duplicate, person_id, sampled_at in placed
    ]
    Sample.objects.bulk_create(samples, batch_size=1000)  # PostgreSQL: one INSERT … SELECT FROM UNNEST(…)

    # Slot counters: one UPDATE per distinct increment (a batch fills most tubes by the same number), then the
    # tubes that are full close at their last swab's time, computed by the database.
    by_increment: dict[int, list[int]] = defaultdict(list)
    for barcode, count in filled.items():
        tube = tubes[barcode]
        by_increment[count - tube.sample_count].append(tube.pk)
        tube.sample_count = count
        if count >= tube.capacity:
            tube.status = TubeStatus.CLOSED
    for increment, tube_ids in by_increment.items():
        Tube.objects.filter(pk__in=tube_ids).update(sample_count=F("sample_count") + increment)
    full = [tubes[barcode].pk for barcode in closed_by]
    if full:
        last_swab = (
            Sample.objects.filter(tube_id=OuterRef("pk")).order_by().values("tube_id").annotate(at=Max("sampled_at"))
        )
        Tube.objects.filter(pk__in=full).update(status=TubeStatus.CLOSED, closed_at=Subquery(last_swab.values("at")))

    index_sample = {placement[0].index: sample for placement, sample in zip(placed, samples, strict=True)}
    first_in_batch = {person_id: index_sample[index].pk for person_id, index in in_batch.items()}
    flags: list[SamplingFlag] = []
    accepted: list[ItemAccepted] = []
    for (row, _tube, duplicate, _person, _at), sample in zip(placed, samples, strict=True):
        assert row.person_id is not None
        assert sample.pk is not None
        if duplicate:
            flags.append(
                SamplingFlag(
                    sample=sample,
                    first_sample_id=first_sample.get(row.person_id, first_in_batch.get(row.person_id)),
                    person_id=row.person_id,
                    round=test_round,
                    division_id=site.division_id,
                    kind=FlagKind.DUPLICATE_IN_ROUND,
                )
            )
        if row.person_created:
            flags.append(
                SamplingFlag(
                    sample=sample,
                    person_id=row.person_id,
                    round=test_round,
                    division_id=site.division_id,
                    kind=FlagKind.REGISTERED_ON_SPOT,
                )
            )
        accepted.append(
            ItemAccepted(
                index=row.index,
                sample_id=sample.pk,
                person_id=row.person_id,
                tube_barcode=row.barcode,
                is_duplicate=duplicate,
                tube_closed=closed_by.get(row.barcode) == row.index,
                person_created=row.person_created,
            )
        )
    if flags:
        SamplingFlag.objects.bulk_create(flags, batch_size=1000)
    return accepted, errors, samples


def _allocate_with_retry(
    rows: list[_Row], site: SamplingSite, test_round: TestRound, by: User | None, device_id: str
) -> tuple[list[ItemAccepted], list[ItemError], list[Sample]]:
    """`_allocate` in a savepoint. When a concurrent transaction commits a conflicting row first (the same
    person in the round, or the same item key — a client's retry racing its own first attempt), the savepoint
    rolls back and the allocation is recomputed: items whose key is now stored are answered from it."""
    replayed: list[ItemAccepted] = []
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                accepted, errors, samples = _allocate(rows, site, test_round, by, device_id)
                return [*accepted, *replayed], errors, samples
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
            rows, raced = _replays(rows, device_id)
            replayed += raced
            if not rows:
                return replayed, [], []
    raise AssertionError("unreachable")


def _as_error(error: ItemError) -> TestingError:
    return TestingError(error.message, code=code_of(error.code), field=error.field, details=[asdict(error)])


@transaction.atomic
def register_one(row: _Row, site: SamplingSite, test_round: TestRound, by: User | None, device_id: str) -> ItemAccepted:
    """The general path of one parsed scan (`scan.register_sample` checks the site, round and format first and
    takes the common case itself): replays, identity resolution with registration on the spot, the tube's
    rules, duplicate flags, the audit row."""
    fresh, replayed = _replays([row], device_id)
    if replayed:
        return replayed[0]
    _resolve_one(row, site)
    accepted, allocation_errors, samples = _allocate_with_retry(fresh, site, test_round, by, device_id)
    if allocation_errors:
        raise _as_error(allocation_errors[0])
    done = accepted[0]
    if done.replayed:  # the same scan (device + key) was committed concurrently: answer with it
        return done
    audit.record(
        "testing.sample.register",
        by=by,
        target=samples[0],
        division_path=site.division_id,
        changes={
            "tube": [None, done.tube_barcode],
            "round": [None, test_round.pk],
            "person": [None, done.person_id],
            "duplicate": [None, done.is_duplicate],
            "registered_on_spot": [None, done.person_created],
        },
    )
    return done


@transaction.atomic
def close_tube(tube: Tube, *, by: User | None) -> Tube:
    """Close a tube before it is full (end of a shift, the last people of a queue)."""
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(tube.division_id, by)
    tube = Tube.objects.select_for_update().get(pk=tube.pk)
    if tube.status != TubeStatus.OPEN:
        raise TestingError(_("This tube is not open."), code=TestingErrorCode.TUBE_STATE, field="tube")
    tube.status = TubeStatus.CLOSED
    tube.closed_at = timezone.now()
    tube.save(update_fields=["status", "closed_at"])
    audit.record(
        "testing.tube.close",
        by=by,
        target=tube,
        division_path=tube.division_id,
        changes={"status": [TubeStatus.OPEN, TubeStatus.CLOSED], "samples": [None, tube.sample_count]},
    )
    return tube
