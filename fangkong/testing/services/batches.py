"""Device batches: many scans from one device at one site in one round, registered in one transaction.

A whole batch may carry a batch key: the (device, key) pair is stored with the response (`DeviceBatch`), a
retry returns that response unchanged, and the same key with a different body is refused (409). A concurrent
retry waits on the unique index and then gets the stored response.

A batch is one transaction: the good items are applied, the bad ones are reported (index, field, code,
message) and nothing of theirs is written. The bulk path makes a fixed number of queries per batch, not per
item: people resolved in bulk, tubes created with one INSERT … ON CONFLICT DO NOTHING and locked in barcode
order (a consistent order, so two devices cannot deadlock), samples with one bulk INSERT, slot counters with
one bulk UPDATE, one audit row. If a concurrent batch wins a race on a unique constraint (the same person in
the same round at the same moment), the batch's savepoint rolls back and the allocation is recomputed once
with what was committed. The rules for each scan are those of `services.sampling`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.errors import ConflictError
from fangkong.core.models import Division, DivisionLevel, User
from fangkong.people.models import DocumentKind, Person, PersonDocument
from fangkong.people.services import BulkPerson, bulk_add_sources, bulk_resolve_people
from fangkong.testing.models import DeviceBatch, Sampler, SamplingSite, TestRound
from fangkong.testing.services.common import TestingError, TestingErrorCode
from fangkong.testing.services.sampling import (
    PERSON_SOURCE,
    ItemAccepted,
    ItemError,
    SampleItem,
    _allocate_with_retry,
    _check_site_and_round,
    _parse,
    _person_details,
    _replays,
    _Row,
)

MAX_BATCH_ITEMS = 2000


@dataclass(frozen=True)
class BatchResult:
    accepted: tuple[ItemAccepted, ...]
    failed: tuple[ItemError, ...]
    batch_id: int | None = None
    replayed: bool = False  # the whole batch is a retry: this is the stored response

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "replayed": self.replayed,
            "accepted_count": len(self.accepted),
            "failed_count": len(self.failed),
            "accepted": [dict(vars(item)) for item in self.accepted],  # vars(): asdict() is 10x slower
            "failed": [dict(vars(item)) for item in self.failed],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, replayed: bool) -> BatchResult:
        return cls(
            accepted=tuple(ItemAccepted(**item) for item in data.get("accepted", [])),
            failed=tuple(ItemError(**item) for item in data.get("failed", [])),
            batch_id=data.get("batch_id"),
            replayed=replayed,
        )


def _resolve_people_in_bulk(rows: list[_Row], site: SamplingSite, by: User | None) -> list[ItemError]:
    """Set `person_id` on every row whose person is known or can be registered; report the others."""
    errors: list[ItemError] = []
    numbers = sorted({row.code.document_number for row in rows if row.code.document_number})
    known_numbers = set(
        PersonDocument.objects.filter(kind=DocumentKind.RESIDENT_ID, number__in=numbers).values_list(
            "number", flat=True
        )
    )
    qr_ids = sorted({row.code.person_id for row in rows if row.code.person_id is not None})
    registry = dict(Person.objects.filter(pk__in=qr_ids).values_list("pk", "merged_into_id"))
    homes = {row.item.home_division.strip() for row in rows if row.item.home_division.strip()} | {str(site.division_id)}
    communities = set(
        Division.objects.filter(path__in=homes, level=DivisionLevel.COMMUNITY).values_list("path", flat=True)
    )

    wanted: list[BulkPerson] = []
    by_number: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.code.person_id is not None:
            if row.code.person_id not in registry:
                errors.append(
                    ItemError(
                        row.index, "person_code", TestingErrorCode.PERSON_UNKNOWN, _("No person has this QR code.")
                    )
                )
                continue
            person_id = row.code.person_id
            seen = {person_id}
            while registry.get(person_id):  # merged away: the survivor is the person
                person_id = int(registry[person_id] or 0)
                if person_id in seen:
                    break
                seen.add(person_id)
                if person_id not in registry:
                    registry.update(Person.objects.filter(pk=person_id).values_list("pk", "merged_into_id"))
            row.person_id = person_id
            continue
        number = row.code.document_number
        if number not in known_numbers and number not in by_number:
            details = _person_details(row, site, communities)
            if isinstance(details, ItemError):
                errors.append(details)
                continue
            name, phone, home = details
            wanted.append(
                BulkPerson(
                    key=("document", DocumentKind.RESIDENT_ID, number),
                    name=name,
                    document_kind=DocumentKind.RESIDENT_ID,
                    document_number=number,
                    phone=phone,
                    address="",
                    home_division=home,
                )
            )
            row.person_created = True
        elif number in known_numbers:
            wanted.append(
                BulkPerson(
                    key=("document", DocumentKind.RESIDENT_ID, number),
                    name="",
                    document_kind=DocumentKind.RESIDENT_ID,
                    document_number=number,
                    phone="",
                    address="",
                    home_division="",
                )
            )
        by_number[number].append(row)
    if wanted:
        resolution = bulk_resolve_people(wanted)
        created: list[int] = []
        for number, number_rows in by_number.items():
            person_id = resolution.person_of[("document", DocumentKind.RESIDENT_ID, number)]
            for row in number_rows:
                row.person_id = person_id
            if number_rows[0].person_created:
                created.append(person_id)
        if created:
            bulk_add_sources(
                [(person_id, f"site:{site.pk}", {"site": site.name}) for person_id in created],
                source=PERSON_SOURCE,
                by=by,
            )
    return errors


def _request_digest(site: SamplingSite, test_round: TestRound, items: list[SampleItem]) -> str:
    """SHA-256 of what the batch asks for, to tell a true retry from a key reused for another body."""
    digest = hashlib.sha256(f"{site.pk}|{test_round.pk}".encode())
    for item in items:
        at = item.sampled_at.isoformat() if item.sampled_at else ""
        fields = (item.person_code, item.tube_barcode, at, item.key, item.name, item.phone, item.home_division)
        digest.update(("\x1e" + "\x1f".join(fields) + f"\x1f{item.sampler_id}").encode())
    return digest.hexdigest()


def _claim_batch(
    site: SamplingSite, test_round: TestRound, items: list[SampleItem], *, device_id: str, key: str, by: User | None
) -> tuple[DeviceBatch, BatchResult | None]:
    """The batch row, or the stored response when (device, key) was seen before (then nothing else happens)."""
    digest = _request_digest(site, test_round, items)
    try:
        with transaction.atomic():
            batch = DeviceBatch.objects.create(
                device_id=device_id,
                key=key,
                site=site,
                division_id=site.division_id,
                request_sha256=digest,
                item_count=len(items),
                created_by=by if by is not None and by.pk else None,
            )
    except IntegrityError:
        stored = DeviceBatch.objects.get(device_id=device_id, key=key)
        if stored.request_sha256 != digest:
            raise ConflictError(
                _("This batch key was already used for a different batch."),
                code=TestingErrorCode.IDEMPOTENCY_MISMATCH,
                field="key",
            ) from None
        return stored, BatchResult.from_dict(stored.response, replayed=True)
    return batch, None


@transaction.atomic
def register_samples(
    site: SamplingSite,
    *,
    test_round: TestRound,
    items: list[SampleItem],
    by: User | None,
    device_id: str = "",
    batch_key: str = "",
) -> BatchResult:
    """Register a batch of scans from one device at one site in one round (see the module docstring).

    Whole-batch problems (permission, site outside the round, round not started, too many items, a batch key
    reused for another body) raise; per-item problems are returned in `failed` while the good items apply.
    With `batch_key`, a retry returns the stored result with `replayed=True`."""
    _check_site_and_round(site, test_round, by)
    if len(items) > MAX_BATCH_ITEMS:
        raise TestingError(
            _("A batch holds at most %(n)d scans.") % {"n": MAX_BATCH_ITEMS},
            code=TestingErrorCode.BATCH_TOO_LARGE,
            field="items",
        )
    if batch_key and not device_id:
        raise TestingError(_("A batch key needs the device id."), field="device_id")
    batch: DeviceBatch | None = None
    if batch_key:
        batch, stored = _claim_batch(site, test_round, items, device_id=device_id, key=batch_key, by=by)
        if stored is not None:
            return stored

    now = timezone.now()
    rows = [_Row(index=index, item=item) for index, item in enumerate(items)]
    sampler_ids = set(Sampler.objects.filter(site=site).values_list("pk", flat=True))
    failed = _parse(rows, test_round, sampler_ids, now)
    bad = {error.index for error in failed}
    rows = [row for row in rows if row.index not in bad]
    rows, replayed = _replays(rows, device_id)
    rows = _dedupe_keys(rows, failed)
    failed += _resolve_people_in_bulk(rows, site, by)
    bad = {error.index for error in failed}
    rows = [row for row in rows if row.index not in bad]
    accepted: list[ItemAccepted] = []
    if rows:
        accepted, allocation_errors, samples = _allocate_with_retry(rows, site, test_round, by, device_id)
        failed += allocation_errors
    result = BatchResult(
        accepted=tuple(sorted([*accepted, *replayed], key=lambda item: item.index)),
        failed=tuple(sorted(failed, key=lambda error: error.index)),
        batch_id=batch.pk if batch is not None else None,
    )
    audit.record(
        "testing.samples.register_batch",
        by=by,
        target=batch if batch is not None else site,
        division_path=site.division_id,
        changes={
            "round": [None, test_round.pk],
            "device": [None, device_id],
            "accepted": [None, sum(1 for item in accepted if not item.replayed)],
            "replayed": [None, len(replayed) + sum(1 for item in accepted if item.replayed)],
            "duplicates": [None, sum(1 for item in accepted if item.is_duplicate)],
            "registered_on_spot": [None, sum(1 for item in accepted if item.person_created)],
            "failed": [None, len(result.failed)],
        },
    )
    if batch is not None:
        batch.accepted_count = len(result.accepted)
        batch.failed_count = len(result.failed)
        batch.response = result.as_dict()
        batch.save(update_fields=["accepted_count", "failed_count", "response"])
    return result


def _dedupe_keys(rows: list[_Row], failed: list[ItemError]) -> list[_Row]:
    """The same item key twice in one batch is a device bug; the second is refused, the first applies."""
    seen: set[str] = set()
    kept: list[_Row] = []
    for row in rows:
        key = row.item.key
        if key and key in seen:
            failed.append(
                ItemError(
                    row.index, "key", TestingErrorCode.INVALID, _("The same item key appears twice in the batch.")
                )
            )
            continue
        if key:
            seen.add(key)
        kept.append(row)
    return kept
