"""Two sampling devices scanning into the same tube at the same moment cannot overfill it, and the same person
scanned at two sites at once is stored once plus one flagged duplicate.

PostgreSQL with real concurrent connections (SQLite serialises writers, so it cannot show this).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from fangkong.testing import services
from fangkong.testing.models import Sample, SamplingFlag, Tube, TubeStatus
from fangkong.testing.services import SampleItem
from fangkong.testing.tests.conftest import resident_id

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _race(jobs: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = jobs[n]()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_connections_filling_one_tube_cannot_exceed_its_capacity(site, test_round, sampler_user):
    def batch(device: int) -> Any:
        items = [
            SampleItem(person_code=resident_id(device * 100 + n), tube_barcode="TC00000001", name=f"居民{n}")
            for n in range(8)
        ]
        return services.register_samples(
            site, test_round=test_round, items=items, by=sampler_user, device_id=f"pad-{device}"
        )

    first, second = _race([lambda: batch(1), lambda: batch(2)])
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    accepted = len(first.accepted) + len(second.accepted)
    full = [e for e in (*first.failed, *second.failed) if e.code == "tube_full"]
    assert accepted == 10
    assert len(full) == 6
    tube = Tube.objects.get(barcode="TC00000001")
    assert tube.sample_count == 10
    assert tube.status == TubeStatus.CLOSED
    assert Sample.objects.filter(tube=tube).count() == 10


def test_one_person_scanned_at_two_places_at_once_is_stored_once_and_flagged_once(site, test_round, sampler_user):
    number = resident_id(7)
    services.register_sample(  # known to the registry before the race
        site,
        test_round=test_round,
        item=SampleItem(person_code=number, tube_barcode="TC00000009", name="甲"),
        by=sampler_user,
    )
    Sample.objects.all().delete()
    Tube.objects.all().delete()
    SamplingFlag.objects.all().delete()

    def scan(tube: str) -> Any:
        return services.register_sample(
            site, test_round=test_round, item=SampleItem(person_code=number, tube_barcode=tube), by=sampler_user
        )

    results = _race([lambda: scan("TC00000002"), lambda: scan("TC00000003")])
    assert all(not isinstance(r, Exception) for r in results), results
    assert Sample.objects.filter(is_duplicate=False).count() == 1
    assert Sample.objects.filter(is_duplicate=True).count() == 1
    assert SamplingFlag.objects.filter(kind="duplicate_in_round").count() == 1


def test_a_retry_racing_its_own_first_attempt_gets_the_stored_sample(site, test_round, sampler_user):
    item = SampleItem(person_code=resident_id(3), tube_barcode="TC00000004", name="丙", key="scan-42")

    def scan() -> Any:
        return services.register_sample(site, test_round=test_round, item=item, by=sampler_user, device_id="pad")

    results = _race([scan, scan, scan])
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.sample_id for r in results}) == 1
    assert Sample.objects.count() == 1
    assert Tube.objects.get().sample_count == 1
