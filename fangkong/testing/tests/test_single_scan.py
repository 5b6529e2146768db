"""The single-scan fast path (`services.scan`) decides exactly what the general path decides.

The same script of scans — known and unknown people, a QR code, a second swab, a replayed key, a tube filled
out of time order, a tube of another site, a closed tube, a merged person — runs once through
`register_sample` and once with the fast path switched off; every answer, tube, sample, flag and audit row
must be the same. Then the fast path's own promises: few statements, and the tube closes at its last swab."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.core.models import AuditEntry
from fangkong.people.models import Person
from fangkong.people.services import BulkPerson, bulk_resolve_people
from fangkong.testing import services
from fangkong.testing.codes import person_qr_payload
from fangkong.testing.models import RoundStatus, Sample, SamplingFlag, Tube, TubeStatus
from fangkong.testing.services import SampleItem, TestingError
from fangkong.testing.services import scan as scan_module
from fangkong.testing.tests.conftest import resident_id


def _known(tree: dict[str, Any], numbers: list[int]) -> dict[int, int]:
    """Register residents of community a; returns number → person id."""
    resolved = bulk_resolve_people(
        [
            BulkPerson(
                key=("document", "resident_id", resident_id(n)),
                name=f"居民{n}",
                document_kind="resident_id",
                document_number=resident_id(n),
                phone="",
                address="",
                home_division=tree["a"].path,
            )
            for n in numbers
        ]
    )
    return {n: resolved.person_of[("document", "resident_id", resident_id(n))] for n in numbers}


def _script(
    site: Any, other_site: Any, test_round: Any, by: Any, ids: dict[int, int], prefix: str, start: Any
) -> list[tuple[Any, ...]]:
    """Run the scan script in `test_round`; returns each scan's answer (or refusal) without database ids."""
    stranger = 40 if prefix == "FA" else 50  # not in the registry yet: each run registers its own

    def at(minute: int) -> Any:
        return start + timedelta(minutes=minute)

    def tube(n: int) -> str:
        return f"{prefix}{n:08d}"

    scans: list[tuple[Any, dict[str, Any]]] = [
        (site, {"person_code": resident_id(1), "tube_barcode": tube(1), "sampled_at": at(5), "key": "k1"}),
        (site, {"person_code": resident_id(2), "tube_barcode": tube(1), "sampled_at": at(9), "key": "k2"}),
        (site, {"person_code": resident_id(1), "tube_barcode": tube(1), "sampled_at": at(9), "key": "k1"}),  # retry
        (site, {"person_code": resident_id(1), "tube_barcode": tube(2), "sampled_at": at(10)}),  # second swab
        (site, {"person_code": person_qr_payload(ids[3]), "tube_barcode": tube(1), "sampled_at": at(2)}),
        (
            site,
            {"person_code": resident_id(stranger), "tube_barcode": tube(1), "name": "新来的", "sampled_at": at(6)},
        ),  # on the spot
        (
            site,
            {"person_code": resident_id(stranger + 1), "tube_barcode": tube(1), "sampled_at": at(6)},
        ),  # unknown, no name
        (
            other_site,
            {"person_code": resident_id(4), "tube_barcode": tube(1), "sampled_at": at(6)},
        ),  # another site's tube
        # tube 3 fills out of time order (pool size 5), then refuses
        (site, {"person_code": resident_id(5), "tube_barcode": tube(3), "sampled_at": at(4)}),
        (site, {"person_code": resident_id(6), "tube_barcode": tube(3), "sampled_at": at(20)}),
        (site, {"person_code": resident_id(7), "tube_barcode": tube(3), "sampled_at": at(12)}),
        (site, {"person_code": resident_id(8), "tube_barcode": tube(3), "sampled_at": at(1)}),
        (site, {"person_code": resident_id(9), "tube_barcode": tube(3), "sampled_at": at(3)}),
        (site, {"person_code": resident_id(10), "tube_barcode": tube(3), "sampled_at": at(21)}),  # closed
        (site, {"person_code": resident_id(11), "tube_barcode": tube(4), "sampler_id": 999_999, "sampled_at": at(22)}),
    ]
    answers: list[tuple[Any, ...]] = []
    for where, fields in scans:
        try:
            done = services.register_sample(
                where, test_round=test_round, item=SampleItem(**fields), by=by, device_id=f"pad-{prefix}"
            )
        except TestingError as refused:
            answers.append(("refused", refused.field, str(refused.code)))
        else:
            person = Person.objects.get(pk=done.person_id)
            answers.append(
                (
                    "accepted",
                    person.name,
                    done.tube_barcode[len(prefix) :],
                    done.is_duplicate,
                    done.tube_closed,
                    done.person_created,
                    done.replayed,
                )
            )
    return answers


def _state(test_round: Any, prefix: str) -> dict[str, Any]:
    tubes = [
        (t.barcode[len(prefix) :], t.site_id, t.capacity, t.sample_count, t.status, t.opened_at, t.closed_at)
        for t in Tube.objects.filter(round=test_round).order_by("barcode")
    ]
    samples = sorted(
        (
            s.person.name,
            s.tube.barcode[len(prefix) :],
            s.is_duplicate,
            s.sampled_at,
            s.idempotency_key,
            s.recorded_by_id,
        )
        for s in Sample.objects.filter(round=test_round).select_related("person", "tube")
    )
    flags = sorted((f.kind, f.person.name) for f in SamplingFlag.objects.filter(round=test_round))
    audits = sorted(
        (entry.action, entry.changes["duplicate"][1], entry.changes["registered_on_spot"][1])
        for entry in AuditEntry.objects.filter(action="testing.sample.register")
        if entry.changes["round"][1] == test_round.pk
    )
    return {"tubes": tubes, "samples": samples, "flags": flags, "audits": audits}


@pytest.fixture
def rounds(tree: dict[str, Any], manager: Any) -> tuple[Any, Any]:
    made = []
    for name in ("快路径轮", "通用路径轮"):
        one = services.create_round(
            tree["county"],
            name=name,
            starts_at=timezone.now() - timedelta(hours=2),
            ends_at=timezone.now() + timedelta(hours=5),
            pool_size=5,
            by=manager,
        )
        made.append(services.set_round_status(one, status=RoundStatus.OPEN, by=manager))
    return made[0], made[1]


def test_the_fast_path_decides_every_scan_as_the_general_path_does(
    site, sampler_user, manager, tree, rounds, monkeypatch
):
    other_site = services.create_site(tree["a"], name="东社区流动点", kind="mobile", hourly_capacity=60, by=manager)
    ids = _known(tree, list(range(1, 12)))
    fast_round, general_round = rounds
    start = timezone.now() - timedelta(minutes=30)
    taken: list[bool] = []
    real_fast = scan_module._fast

    def counting(*args: Any, **kwargs: Any) -> Any:
        done = real_fast(*args, **kwargs)
        taken.append(done is not None)
        return done

    monkeypatch.setattr(scan_module, "_fast", counting)
    fast = _script(site, other_site, fast_round, sampler_user, ids, "FA", start)
    fast_state = _state(fast_round, "FA")

    monkeypatch.setattr(scan_module, "_fast", lambda *args, **kwargs: None)
    general = _script(site, other_site, general_round, sampler_user, ids, "GE", start)
    general_state = _state(general_round, "GE")

    assert taken.count(True) == 8  # the first swabs of known people into open tubes of this site
    assert fast == general
    assert fast_state == general_state
    # the script did exercise the interesting cases
    assert ("refused", "tube_barcode", "tube_used") in fast
    assert ("refused", "tube_barcode", "tube_closed") in fast
    assert ("refused", "person_code", "person_unknown") in fast
    assert ("refused", "sampler_id", "invalid") in fast
    assert any(answer[0] == "accepted" and answer[6] for answer in fast)  # a replay
    assert any(answer[0] == "accepted" and answer[3] for answer in fast)  # a flagged second swab


def test_a_known_persons_first_scan_takes_a_few_statements_and_the_full_tube_closes_at_its_last_swab(
    site, test_round, sampler_user, tree
):
    _known(tree, list(range(1, 11)))
    start = timezone.now() - timedelta(minutes=30)
    times = [start + timedelta(minutes=m) for m in (7, 3, 9, 1, 8, 2, 6, 5, 4, 0)]  # the latest is the third
    for n, moment in enumerate(times[:-1], start=1):
        services.register_sample(
            site,
            test_round=test_round,
            item=SampleItem(person_code=resident_id(n), tube_barcode="FP00000001", sampled_at=moment),
            by=sampler_user,
        )
    with CaptureQueriesContext(connection) as statements:
        last = services.register_sample(
            site,
            test_round=test_round,
            item=SampleItem(person_code=resident_id(10), tube_barcode="FP00000001", sampled_at=times[-1], key="x"),
            by=sampler_user,
            device_id="pad-9",
        )
    # key check, person, slot, sample, close, audit (+ savepoint/transaction bookkeeping on some databases)
    assert (
        len([q for q in statements.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]) <= 8
    )
    tube = Tube.objects.get(barcode="FP00000001")
    assert last.tube_closed is True
    assert (tube.status, tube.sample_count) == (TubeStatus.CLOSED, 10)
    assert tube.closed_at == max(times)
    assert tube.opened_at == times[0]


def test_a_merged_persons_scan_lands_on_the_surviving_record(site, test_round, sampler_user, tree):
    ids = _known(tree, [1, 2])
    Person.objects.filter(pk=ids[1]).update(merged_into_id=ids[2])
    done = services.register_sample(
        site,
        test_round=test_round,
        item=SampleItem(person_code=resident_id(1), tube_barcode="MG00000001"),
        by=sampler_user,
    )
    assert done.person_id == ids[2]
