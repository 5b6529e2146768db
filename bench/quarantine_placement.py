"""Quarantine placement at scale: 10,000 close contacts from the ledger placed across 50 sites in one call.

    .venv/bin/python bench/quarantine_placement.py                                  # SQLite file DB
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_bench_q .venv/bin/python bench/quarantine_placement.py

Setup (not timed, printed separately): a city of 5 counties × 5 streets × 4 communities with coordinates, 50 ready
sites (10 per county, one building each) with `--rooms` rooms per site (single rooms plus a few family rooms),
`--people` people in the registry with open ledger entries as close contacts, and `--pairs` child+guardian pairs
among them (the child shares the guardian's family room). The database must be empty (a new SQLite file is
made; for PostgreSQL create the database first).

Timed: `quarantine.services.placement.place_contacts(entries, by=hq, arrived=True)` — one transaction that
checks every request, freezes the edition's terms, allocates rooms in memory (jurisdiction, distance, free
rooms), locks and re-checks the chosen rooms, inserts bookings, placements and their scheduled tests in bulk,
marks the rooms occupied and moves every ledger entry to centralized quarantine. The script then checks the
result: every room booked at most once, everyone placed once.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup_city(*, sites: int, rooms: int, people: int, pairs: int, seed: int) -> tuple[object, list[object]]:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from fangkong.core.models import Division, DivisionLevel, User
    from fangkong.core.roles import Role
    from fangkong.people.models import Person
    from fangkong.quarantine.models import RoomType, SiteStatus
    from fangkong.quarantine.services.sites import RoomLayout, create_rooms, create_site
    from fangkong.screening.models import PoolEntry
    from fangkong.screening.services import entry_terms

    rng = random.Random(seed)
    city = Division.objects.create(
        code="410300", path="4103", name="示范市", level=DivisionLevel.CITY, lat=34.62, lon=112.45
    )
    communities: list[Division] = []
    counties: list[Division] = []
    for c in range(5):
        county = Division.objects.create(
            code=f"4103{c + 2:02d}",
            path=f"4103{c + 2:02d}",
            name=f"区{c}",
            level=DivisionLevel.COUNTY,
            parent=city,
            lat=34.62 + rng.uniform(-0.2, 0.2),
            lon=112.45 + rng.uniform(-0.3, 0.3),
        )
        counties.append(county)
        for s in range(5):
            street = Division.objects.create(
                code=f"{county.path}{s + 1:03d}",
                path=f"{county.path}{s + 1:03d}",
                name=f"街道{c}{s}",
                level=DivisionLevel.STREET,
                parent=county,
            )
            for m in range(4):
                communities.append(
                    Division.objects.create(
                        code=f"{street.path}{m + 1:03d}",
                        path=f"{street.path}{m + 1:03d}",
                        name=f"社区{c}{s}{m}",
                        level=DivisionLevel.COMMUNITY,
                        parent=street,
                        lat=county.lat + rng.uniform(-0.05, 0.05),
                        lon=county.lon + rng.uniform(-0.05, 0.05),
                    )
                )
    hq = User.objects.create_user(username="bench-hq", role=Role.CITY_HQ, division=city)
    family_rooms = max(pairs // sites + 1, 1) if pairs else 0
    for n in range(sites):
        county = counties[n % len(counties)]
        site = create_site(
            division=county,
            name=f"隔离点{n:02d}",
            by=hq,
            lat=county.lat + rng.uniform(-0.08, 0.08),
            lon=county.lon + rng.uniform(-0.08, 0.08),
        )
        floors, per_floor = divmod(rooms - family_rooms, 20)
        create_rooms(
            site, layout=RoomLayout(building="A", first_floor=2, last_floor=1 + floors, rooms_per_floor=20), by=hq
        )
        if per_floor:
            create_rooms(
                site, layout=RoomLayout(building="B", first_floor=2, last_floor=2, rooms_per_floor=per_floor), by=hq
            )
        if family_rooms:
            create_rooms(
                site,
                layout=RoomLayout(
                    building="C",
                    first_floor=2,
                    last_floor=2,
                    rooms_per_floor=family_rooms,
                    room_type=RoomType.FAMILY,
                    beds=3,
                ),
                by=hq,
            )
        site.status = SiteStatus.READY
        site.save(update_fields=["status"])
    now = timezone.now()
    with transaction.atomic():
        persons = Person.objects.bulk_create(  # noqa: TID251 - benchmark setup writes plain rows
            [
                Person(
                    name=f"测试{n}",
                    phone=f"138{n:08d}",
                    phone_tail=f"{n:08d}"[-4:],
                    home_division=communities[rng.randrange(len(communities))],
                )
                for n in range(people)
            ],
            batch_size=5000,
        )
        terms = {c.path: entry_terms(c.path, now=now) for c in communities}
        entries = PoolEntry.objects.bulk_create(
            [
                PoolEntry(
                    person=p,
                    division_id=p.home_division_id,
                    reasons=["close_contact"],
                    edition_id=terms[p.home_division_id].edition_id,
                    listed_at=now - timedelta(hours=2),
                    locate_due=terms[p.home_division_id].locate_due,
                    test_due=terms[p.home_division_id].test_due,
                )
                for p in persons
            ],
            batch_size=5000,
        )
    for entry, person in zip(entries, persons, strict=True):
        entry.person = person  # as a selector with select_related("person") would give them
    return hq, entries


def backend_cpu_seconds() -> float:
    """CPU time used so far by this connection's PostgreSQL backend process (0 on SQLite, which runs in-process):
    with the client's own CPU it gives the work done, which the wall clock hides when other jobs share the CPU."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=210, help="rooms per site (50 × 210 = 10,500 for 10,000 people)")
    parser.add_argument("--pairs", type=int, default=100, help="child+guardian pairs sharing a family room")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fk-bench-q-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    hq, entries = setup_city(sites=args.sites, rooms=args.rooms, people=args.people, pairs=args.pairs, seed=args.seed)
    print(f"database: {connection.vendor}; setup {time.perf_counter() - began:.1f} s")

    from fangkong.quarantine.models import Placement, RoomBooking, ScheduledTest, ShareReason
    from fangkong.quarantine.services.placement import PlacementRequest, place_contacts
    from fangkong.screening.models import LoopState, PoolEntry

    requests: list[PlacementRequest] = []
    for n, entry in enumerate(entries):
        if n < 2 * args.pairs and n % 2 == 1:
            requests.append(
                PlacementRequest(entry=entry, accompanies=n - 1, share_reason=ShareReason.CHILD_WITH_GUARDIAN)
            )
        else:
            requests.append(PlacementRequest(entry=entry))

    load_before = os.getloadavg()
    server_start = backend_cpu_seconds()
    start, cpu_start = time.perf_counter(), time.process_time()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    result = place_contacts(requests, by=hq, arrived=True)  # type: ignore[arg-type]
    if os.environ.get("BENCH_PROFILE"):
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(40)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    server_cpu = backend_cpu_seconds() - server_start
    load_after = os.getloadavg()

    open_bookings = RoomBooking.objects.filter(ended_at__isnull=True)
    assert open_bookings.count() == open_bookings.values("room_id").distinct().count(), "a room booked twice"
    assert Placement.objects.values("person_id").distinct().count() == Placement.objects.count(), "placed twice"
    quarantined = PoolEntry.objects.filter(state=LoopState.QUARANTINED_CENTRAL).count()
    print(
        f"placed {len(result.placed):,} ({open_bookings.count():,} rooms, {args.pairs} shared by child+guardian), "
        f"waitlisted {len(result.waitlisted):,}, {ScheduledTest.objects.count():,} scheduled tests, "
        f"{quarantined:,} ledger entries in centralized quarantine"
    )
    print(
        f"place_contacts: {elapsed:.2f} s wall for {args.people:,} people across {args.sites} sites; "
        f"CPU {cpu:.2f} s here + {server_cpu:.2f} s in the database backend = {cpu + server_cpu:.2f} s"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
