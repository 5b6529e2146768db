"""Concurrent placements never double-book a room, and nobody is placed twice.

Runs against PostgreSQL with real concurrent connections, one per thread (SQLite serialises writers, so it cannot
show this). The first test goes through the service (row locks and the re-check); the second bypasses the service
to show that the database constraint alone refuses a second open booking of a room.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fangkong.core.errors import ConflictError
from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.quarantine.models import Placement, PlacementStatus, Room, RoomBooking, WaitlistEntry
from fangkong.quarantine.services import placement as services
from fangkong.quarantine.services.common import QuarantineError, QuarantineErrorCode
from fangkong.quarantine.services.sites import RoomLayout, create_rooms, create_site
from fangkong.screening.services import list_person

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_together(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread (its own database connection), all released at the same moment."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = work[n]()
        except Exception as error:  # noqa: BLE001 - collected and asserted by the test
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def site(tree):
    hq = User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])
    site = create_site(division=tree["county"], name="并发点", by=hq)
    create_rooms(site, layout=RoomLayout(building="A", first_floor=1, last_floor=1, rooms_per_floor=3), by=hq)
    site.status = "ready"
    site.save(update_fields=["status"])
    return site


def test_eight_officers_placing_at_once_fill_three_rooms_once_each(site, tree, register):
    entries = [
        list_person(register("a", phone=f"1381111000{n}"), reason="close_contact", source="manual", by=None).entry
        for n in range(8)
    ]
    officers = [User.objects.create_user(username=f"o{n}", role=Role.CITY_HQ, division=tree["city"]) for n in range(8)]

    def place(n: int) -> Callable[[], Any]:
        return lambda: services.place_contacts([entries[n]], by=officers[n])

    results = run_together([place(n) for n in range(8)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r.placed) for r in results) == 3 and sum(len(r.waitlisted) for r in results) == 5
    open_rooms = list(RoomBooking.objects.filter(ended_at__isnull=True).values_list("room_id", flat=True))
    assert sorted(open_rooms) == sorted(Room.objects.filter(site=site).values_list("pk", flat=True))
    assert Placement.objects.filter(status=PlacementStatus.WAITING).count() == 3
    assert WaitlistEntry.objects.count() == 5


def test_the_database_alone_refuses_a_second_open_booking_of_a_room(site):
    room = Room.objects.filter(site=site).first()

    def book() -> int:
        with transaction.atomic():
            return RoomBooking.objects.create(room=room, site=site, started_at=timezone.now()).pk

    results = run_together([book for _ in range(4)])

    assert len([r for r in results if isinstance(r, int)]) == 1
    assert all(isinstance(r, IntegrityError) for r in results if not isinstance(r, int))
    assert RoomBooking.objects.filter(room=room, ended_at__isnull=True).count() == 1


def test_placing_one_person_twice_at_the_same_moment_places_them_once(site, tree, register):
    entry = list_person(register("a", phone="13811112222"), reason="close_contact", source="manual", by=None).entry
    officers = [User.objects.create_user(username=f"p{n}", role=Role.CITY_HQ, division=tree["city"]) for n in range(4)]

    results = run_together([lambda n=n: services.place_contacts([entry], by=officers[n]) for n in range(4)])

    placed = [r for r in results if isinstance(r, services.PlacementResult)]
    refused = [r for r in results if isinstance(r, QuarantineError | ConflictError)]
    assert len(placed) == 1 and len(refused) == 3, results
    assert all(r.code == QuarantineErrorCode.ALREADY_PLACED for r in refused)
    assert Placement.objects.count() == 1 and RoomBooking.objects.count() == 1


def test_placing_one_contact_four_times_at_once_answers_every_call_with_the_same_placement(site, tree, register):
    """The API's retry-safe placement: every simultaneous call gets the one placement (one made it, the others
    replay it) instead of three refusals."""
    entry = list_person(register("a", phone="13811113333"), reason="close_contact", source="manual", by=None).entry
    officers = [User.objects.create_user(username=f"q{n}", role=Role.CITY_HQ, division=tree["city"]) for n in range(4)]

    results = run_together([lambda n=n: services.place_contact(entry, by=officers[n]) for n in range(4)])

    assert all(isinstance(r, services.ContactPlacement) for r in results), results
    assert len({r.placement.pk for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert Placement.objects.count() == 1 and RoomBooking.objects.count() == 1
