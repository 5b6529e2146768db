"""One scan at a time (the station page, a device online): `register_sample`.

Sampling stations queue behind a slow registration, so the common scan — a person already in the registry,
swabbed for the first time in the round into an open tube of this site — takes four or five short statements in one
transaction and no ORM query building:

1. one lookup: the person by ID number (or QR id), whether they were merged into another record, whether they
   already have a sample in the round, whether the device's key is already stored;
2. the tube's slot: ``INSERT … ON CONFLICT (barcode) DO UPDATE SET sample_count = sample_count + 1 WHERE`` the
   tube is this round's and this site's, open and not full — which creates the tube at its first scan, locks
   it (PostgreSQL: the conflicting row; SQLite: the database) and fills the slot in the same statement;
3. the sample; 4. when that slot was the last, the tube closes at its last swab's time; 5. the audit row.

Anything else — an unknown or merged person, a replayed key, a second swab in the round, a tube of another
round or site, closed or full, a race lost on a unique index — goes through the general path
(`sampling.register_one`), which holds every rule and every message. The fast path decides nothing the general
path would decide differently: it only takes the case where every rule passes, and the database's constraints
(one round sample per person, one key per device, `sample_count <= capacity`) stay the last guard for both.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fangkong.core import audit
from fangkong.core.models import User
from fangkong.people.models import DocumentKind
from fangkong.testing.models import SamplePurpose, Sampler, SamplingSite, TestRound, TubeStatus
from fangkong.testing.services.sampling import (
    ItemAccepted,
    SampleItem,
    _as_error,
    _check_site_and_round,
    _parse,
    _Row,
    register_one,
)

_PERSON_BY_DOCUMENT = """
SELECT d.person_id, p.merged_into_id,
       (SELECT s.id FROM testing_sample s
         WHERE s.person_id = d.person_id AND s.round_id = %s AND s.purpose = %s AND NOT s.is_duplicate),
       (SELECT k.id FROM testing_sample k
         WHERE k.device_id = %s AND k.idempotency_key = %s AND k.idempotency_key <> '')
  FROM people_persondocument d JOIN people_person p ON p.id = d.person_id
 WHERE d.kind = %s AND d.number = %s
"""
_PERSON_BY_ID = """
SELECT p.id, p.merged_into_id,
       (SELECT s.id FROM testing_sample s
         WHERE s.person_id = p.id AND s.round_id = %s AND s.purpose = %s AND NOT s.is_duplicate),
       (SELECT k.id FROM testing_sample k
         WHERE k.device_id = %s AND k.idempotency_key = %s AND k.idempotency_key <> '')
  FROM people_person p
 WHERE p.id = %s
"""
_TAKE_SLOT = """
INSERT INTO testing_tube (barcode, round_id, site_id, division_path, capacity, sample_count, is_retest, status,
                          opened_at)
VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s)
ON CONFLICT (barcode) DO UPDATE SET sample_count = testing_tube.sample_count + 1
 WHERE testing_tube.round_id = %s AND testing_tube.site_id = %s AND testing_tube.status = %s
   AND testing_tube.sample_count < testing_tube.capacity
RETURNING id, sample_count, capacity
"""
_INSERT_SAMPLE = """
INSERT INTO testing_sample (person_id, tube_id, round_id, site_id, division_path, purpose, is_duplicate,
                            sampled_at, sampler_id, device_id, idempotency_key, recorded_by_id, recorded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING id
"""
_CLOSE_FULL_TUBE = """
UPDATE testing_tube SET status = %s,
       closed_at = (SELECT MAX(s.sampled_at) FROM testing_sample s WHERE s.tube_id = testing_tube.id)
 WHERE id = %s
"""


def _fast(row: _Row, site: SamplingSite, test_round: TestRound, by: User | None, device_id: str) -> ItemAccepted | None:
    """The common scan in four or five statements, or None (nothing written) when the general path must decide."""
    assert row.sampled_at is not None
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        if row.code.person_id is not None:
            cursor.execute(
                _PERSON_BY_ID, [test_round.pk, SamplePurpose.ROUND, device_id, row.item.key, row.code.person_id]
            )
        else:
            cursor.execute(
                _PERSON_BY_DOCUMENT,
                [
                    test_round.pk,
                    SamplePurpose.ROUND,
                    device_id,
                    row.item.key,
                    DocumentKind.RESIDENT_ID,
                    row.code.document_number,
                ],
            )
        found = cursor.fetchone()
        if found is None or any(value is not None for value in found[1:]):
            return None  # unknown, merged, already sampled in this round, or a retry of a stored key
        person_id = found[0]
        at = adapt(row.sampled_at)
        capacity = test_round.pool_size
        cursor.execute(
            _TAKE_SLOT,
            [
                row.barcode,
                test_round.pk,
                site.pk,
                site.division_id,
                capacity,
                False,
                TubeStatus.OPEN,
                at,
                test_round.pk,
                site.pk,
                TubeStatus.OPEN,
            ],
        )
        slot = cursor.fetchone()
        if slot is None:
            return None  # another round's or site's tube, closed or full: refused by the general path
        tube_id, count, tube_capacity = slot
        actor = by.pk if by is not None and by.pk else None
        cursor.execute(
            _INSERT_SAMPLE,
            [
                person_id,
                tube_id,
                test_round.pk,
                site.pk,
                site.division_id,
                SamplePurpose.ROUND,
                False,
                at,
                row.item.sampler_id,
                device_id,
                row.item.key,
                actor,
                adapt(timezone.now()),
            ],
        )
        sample_id = cursor.fetchone()[0]
        closed = count >= tube_capacity
        if closed:
            cursor.execute(_CLOSE_FULL_TUBE, [TubeStatus.CLOSED, tube_id])
    audit.record(
        "testing.sample.register",
        by=by,
        target_type="testing.sample",
        target_id=str(sample_id),
        division_path=site.division_id,
        changes={
            "tube": [None, row.barcode],
            "round": [None, test_round.pk],
            "person": [None, person_id],
            "duplicate": [None, False],
            "registered_on_spot": [None, False],
        },
    )
    return ItemAccepted(
        index=0,
        sample_id=sample_id,
        person_id=person_id,
        tube_barcode=row.barcode,
        is_duplicate=False,
        tube_closed=closed,
        person_created=False,
    )


def register_sample(
    site: SamplingSite,
    *,
    test_round: TestRound,
    item: SampleItem,
    by: User | None,
    device_id: str = "",
) -> ItemAccepted:
    """One scan. Raises TestingError (with `field` and `code`) when the scan is refused; returns the sample,
    flagged when it is a duplicate or a person registered on the spot. An item with a key already stored for
    the device returns that sample (`replayed`)."""
    _check_site_and_round(site, test_round, by)
    row = _Row(index=0, item=item)
    sampler_ids = set(Sampler.objects.filter(site=site).values_list("pk", flat=True)) if item.sampler_id else set()
    errors = _parse([row], test_round, sampler_ids, timezone.now())
    if errors:
        raise _as_error(errors[0])
    try:
        with transaction.atomic():
            done = _fast(row, site, test_round, by, device_id)
    except IntegrityError:  # a concurrent scan of the same person or key committed first: nothing was written
        done = None
    return done if done is not None else register_one(row, site, test_round, by, device_id)
