"""Fill the platform from the simulator: divisions, organisations, people and one demo account per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from fangkong.command.models import SimulationRun
from fangkong.core.models import Division, DivisionLevel, Organization, OrganizationKind, User
from fangkong.core.roles import Role
from fangkong.core.services import import_divisions, set_division_boundaries
from fangkong.people.models import Person
from fangkong.people.services import bulk_load_people

DEMO_PASSWORD = "fangkong-demo"  # noqa: S105 - printed on purpose: demo accounts on a local demo database


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    division: str


def load_city(city: Any, *, reference: str) -> dict[str, int]:
    """Load a `fangkong.simulate` city (Arrow tables) into the registry. Safe to run twice."""
    divisions = city.divisions.to_pylist()
    result = import_divisions(
        [{"code": d["code"], "name": d["name"], "lon": d.get("lon"), "lat": d.get("lat")} for d in divisions],
        by=None,
    )
    boundaries = {
        feature["properties"]["code"]: feature["geometry"]
        for level in ("county", "street", "community")
        for feature in city.geojson(level)["features"]
    }
    set_division_boundaries(boundaries, by=None)
    columns = [
        "name",
        "sex",
        "birth_date",
        "id_number",
        "phone",
        "community_code",
        "address",
        "household_id",
        "workplace_id",
        "class_id",
    ]
    people = city.people.select(columns).to_pylist()
    tag = reference.replace(",", "-")
    rows = [
        {
            "name": p["name"],
            "sex": p["sex"],
            "birth_date": p["birth_date"],
            "id_number": p["id_number"],
            "phone": p["phone"],
            "division": p["community_code"],
            "address": p["address"],
            "household_key": f"{tag}:h{p['household_id']}",
            "workplace_key": f"{tag}:w{p['workplace_id']}" if p["workplace_id"] is not None else "",
            "class_key": f"{tag}:c{p['class_id']}" if p["class_id"] is not None else "",
        }
        for p in people
    ]
    created = bulk_load_people(rows, source="simulated_city", reference=reference, by=None)
    return {"divisions_created": result.created, "people_created": created}


DEMO_ROLES: list[tuple[str, str, str]] = [
    # username, role, where (city / county / street / community / community_b)
    ("city_hq", Role.CITY_HQ, "city"),
    ("county_hq", Role.COUNTY_HQ, "county"),
    ("street_office", Role.STREET_OFFICE, "street"),
    ("community_a", Role.COMMUNITY_WORKER, "community"),
    ("community_b", Role.COMMUNITY_WORKER, "community_b"),
    ("police_analyst", Role.POLICE_ANALYST, "city"),
    ("health_department", Role.HEALTH_DEPARTMENT, "city"),
    ("lab", Role.LAB, "county"),
    ("hospital", Role.HOSPITAL, "county"),
    ("quarantine_site", Role.QUARANTINE_SITE_MANAGER, "county"),
    ("checkpoint", Role.CHECKPOINT_STAFF, "county"),
    ("supervisor", Role.SUPERVISOR, "city"),
    ("api_client", Role.API_CLIENT, "city"),
]

_ORG_KIND: dict[str, str] = {
    Role.CITY_HQ: OrganizationKind.HQ_OFFICE,
    Role.COUNTY_HQ: OrganizationKind.HQ_OFFICE,
    Role.STREET_OFFICE: OrganizationKind.STREET_OFFICE,
    Role.COMMUNITY_WORKER: OrganizationKind.COMMUNITY_OFFICE,
    Role.POLICE_ANALYST: OrganizationKind.POLICE_UNIT,
    Role.HEALTH_DEPARTMENT: OrganizationKind.DEPARTMENT,
    Role.LAB: OrganizationKind.LAB,
    Role.HOSPITAL: OrganizationKind.HOSPITAL,
    Role.QUARANTINE_SITE_MANAGER: OrganizationKind.QUARANTINE_SITE,
    Role.CHECKPOINT_STAFF: OrganizationKind.CHECKPOINT,
}


@transaction.atomic
def create_demo_accounts() -> list[DemoAccount]:
    city = Division.objects.filter(level=DivisionLevel.CITY).order_by("path").first()
    if city is None:
        raise RuntimeError("load a city first")
    # Two neighbouring communities of one street, so that the demo shows jurisdiction boundaries.
    street = (
        Division.objects.filter(level=DivisionLevel.STREET)
        .annotate(communities=Count("children"))
        .filter(communities__gte=2)
        .order_by("path")
        .first()
    ) or Division.objects.filter(level=DivisionLevel.STREET).order_by("path").first()
    if street is None or street.parent is None:
        raise RuntimeError("the city has no streets")
    county = street.parent
    communities = list(street.children.order_by("path")[:2])
    if len(communities) < 2:  # a small city may have one community per street: take a neighbour in the county
        communities += list(
            Division.objects.filter(level=DivisionLevel.COMMUNITY, path__startswith=county.path)
            .exclude(path=communities[0].path)
            .order_by("path")[:1]
        )
    where = {
        "city": city,
        "county": county,
        "street": street,
        "community": communities[0],
        "community_b": communities[-1],
    }
    accounts = []
    for username, role, place in DEMO_ROLES:
        division = where[place]
        assert division is not None
        org = None
        if role in _ORG_KIND:
            org, _ = Organization.objects.get_or_create(
                division=division, name=f"{division.name}{Role(role).label}", defaults={"kind": _ORG_KIND[role]}
            )
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": role, "division": division, "organization": org}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        accounts.append(DemoAccount(username=username, role=str(Role(role).label), division=division.name))
    admin, created = User.objects.get_or_create(
        username="admin", defaults={"role": Role.CITY_HQ, "division": city, "is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    return accounts


def record_outbreak(result: Any, *, data_dir: Path) -> SimulationRun:
    """Keep a simulated outbreak's daily series for the dashboard (its Parquet data sets stay in data_dir)."""
    city = Division.objects.filter(level=DivisionLevel.CITY).order_by("path").first()
    if city is None:
        raise RuntimeError("load the city first")
    daily = [
        {key: (value.isoformat() if isinstance(value, date) else value) for key, value in row.items()}
        for row in result.daily.to_pylist()
    ]
    config = result.config
    return SimulationRun.objects.create(
        division=city,
        seed=config.seed,
        people=result.n_people,
        days=config.days,
        start_date=config.start_date,
        data_dir=str(data_dir),
        daily=daily,
        summary={
            "attack_rate": round(result.attack_rate, 5),
            "cases": result.cases.num_rows,
            "infections": result.infection_tree.num_rows,
        },
    )


@dataclass(frozen=True)
class SimulationLoad:
    divisions_created: int
    people_created: int
    run: SimulationRun


def simulate_and_load(
    *, people: int, days: int, seed: int, scenario: str, out_dir: Path, load: bool, progress: Any = None
) -> SimulationLoad | None:
    """Build a city, run the outbreak under a named scenario, write every data set as Parquet, and (with
    `load`) fill the platform: divisions with boundaries, the person registry, and the outbreak's series."""
    from fangkong.simulate import CityConfig, build_city
    from fangkong.simulate.outbreak import OutbreakConfig, run_outbreak
    from fangkong.simulate.scenarios import NAMED_SCENARIOS

    city = build_city(CityConfig(people=people, seed=seed))
    result = run_outbreak(
        city,
        OutbreakConfig(days=days, seed=seed, interventions=NAMED_SCENARIOS[scenario].interventions),
        progress,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    city.write_parquet(out_dir)
    result.write_parquet(out_dir)
    if not load:
        return None
    with transaction.atomic():
        counts = load_city(city, reference=f"seed={seed},people={people}")
        run = record_outbreak(result, data_dir=out_dir)
        if counts["people_created"]:
            run.summary["loop"] = load_outbreak_loop(city, result)
            run.summary["venues"] = load_venue_check_ins(city, result)
            run.summary["quarantine"] = load_quarantine_sites()
            run.save(update_fields=["summary"])
    return SimulationLoad(
        divisions_created=counts["divisions_created"], people_created=counts["people_created"], run=run
    )


def load_outbreak_loop(city: Any, result: Any, *, now: datetime | None = None) -> dict[str, int]:
    """Put the simulated outbreak into the loop as the platform would have seen it, its last day being today:
    reported cases (with who infected whom when the infector was itself reported) and everyone quarantined
    (arrivals, close and secondary contacts), in quarantine or already released."""
    from fangkong.people.models import PersonDocument
    from fangkong.screening import services as screening
    from fangkong.tracing import services as tracing

    now = now or timezone.now()
    last_day = result.config.start_date + timedelta(days=result.config.days - 1)
    id_numbers = city.people.column("id_number").to_pylist()

    def when(day: date, hour: int = 10) -> datetime:
        return now - timedelta(days=(last_day - day).days) - timedelta(hours=max(0, now.hour - hour))

    wanted = {int(p) for p in result.cases.column("person_id").to_pylist()} | {
        int(p) for p in result.quarantine.column("person_id").to_pylist()
    }
    by_number = dict(
        PersonDocument.objects.filter(number__in=[id_numbers[p] for p in wanted]).values_list("number", "person")
    )
    people = {p.pk: p for p in Person.objects.filter(pk__in=by_number.values()).select_related("home_division")}

    def person(simulated_id: int) -> Person | None:
        pk = by_number.get(id_numbers[simulated_id])
        return people.get(pk) if pk is not None else None

    links = {int(row["person_id"]): row["linked_case_person_id"] for row in result.investigations.to_pylist()}
    registered: dict[int, Any] = {}
    cases = sorted(result.cases.to_pylist(), key=lambda row: (row["report_date"], row["person_id"]))
    for row in cases:
        who = person(int(row["person_id"]))
        if who is None:
            continue
        infector = links.get(int(row["person_id"]))
        registered[int(row["person_id"])] = tracing.register_case(
            who,
            kind="asymptomatic" if row["severity"] == "asymptomatic" else "confirmed",
            first_positive_at=when(row["sample_date"], 9),
            onset_date=row["onset_date"],
            reported_at=when(row["report_date"], 12),
            source_case=registered.get(int(infector)) if infector is not None else None,
            by=None,
        )
    reason = {"arrival": "arrival", "close_contact": "close_contact", "secondary_contact": "secondary_contact"}
    listed = 0
    for row in result.quarantine.to_pylist():
        who = person(int(row["person_id"]))
        if who is None or int(row["person_id"]) in registered:
            continue
        listing = screening.list_person(
            who,
            reason=reason[row["kind"]],
            source="investigation" if row["kind"] != "arrival" else "police",
            reference=f"sim:{result.config.seed}:{row['kind']}:{row['person_id']}",
            by=None,
            now=when(row["start_date"], 8),
        )
        listed += int(listing.created)
        if row["planned_end_date"] <= last_day:
            screening.record_quarantined(who, central=bool(row["centralized"]), by=None)
            screening.record_released(who, by=None)
        elif row["centralized"]:
            continue  # still in centralized quarantine: placed into a site's room by load_quarantine_sites()
        elif row["start_date"] <= last_day - timedelta(days=1):
            screening.record_quarantined(who, central=False, by=None)
    return {"cases": len(registered), "listed": listed}


def load_quarantine_sites(*, sites_per_county: int = 1, max_counties: int = 3) -> dict[str, int]:
    """A few designated quarantine sites (one per county, ready, with a medical staff member) sized for the
    people of the loop awaiting centralized quarantine, and those people placed into rooms through the placement
    service (already at the site). Safe to run twice: with sites already there it does nothing."""
    from fangkong.quarantine.models import Site, SiteStatus, StaffRole
    from fangkong.quarantine.selectors.placement import AWAITING_STATES
    from fangkong.quarantine.services.placement import place_contacts
    from fangkong.quarantine.services.sites import (
        RoomLayout,
        create_rooms,
        create_site,
        set_checklist_item,
        set_site_status,
    )
    from fangkong.quarantine.services.staff import add_staff_member
    from fangkong.screening.models import PoolEntry

    if Site.objects.exists():
        return {"sites": 0, "placed": 0, "waitlisted": 0}
    reasons = {"close_contact", "secondary_contact", "arrival"}
    entries = [
        entry
        for entry in PoolEntry.objects.filter(state__in=AWAITING_STATES).order_by("listed_at", "pk")
        if reasons & set(entry.reasons)
    ]
    counties = list(Division.objects.filter(level=DivisionLevel.COUNTY).order_by("path")[:max_counties])
    if not counties:
        return {"sites": 0, "placed": 0, "waitlisted": 0}
    per_floor = 20
    floors = max(2, -(-len(entries) // (per_floor * len(counties) * sites_per_county)) + 1)  # ~1 floor spare
    sites = []
    for number, county in enumerate(counties, start=1):
        for index in range(sites_per_county):
            site = create_site(
                division=county,
                name=f"{county.name}集中隔离点{index + 1}号",
                by=None,
                address=f"{county.name}滨河路{number}{index}号",
                lat=county.lat,
                lon=county.lon,
                clean_zone="1楼东侧",
                buffer_zone="1楼中部",
                contaminated_zone="2楼及以上",
                staff_passage="东侧楼梯",
                resident_passage="西侧楼梯",
            )
            for item in site.checklist.all():
                set_checklist_item(item, is_done=True, by=None)
            create_rooms(
                site,
                layout=RoomLayout(building="1号楼", first_floor=2, last_floor=1 + floors, rooms_per_floor=per_floor),
                by=None,
            )
            add_staff_member(
                site, name="值班医生", role=StaffRole.MEDICAL, phone=f"1390000{number:02d}{index:02d}", by=None
            )
            sites.append(set_site_status(site, status=SiteStatus.READY, by=None))
    result = place_contacts(entries, by=None, arrived=True, sites=sites)
    return {"sites": len(sites), "placed": len(result.placed) + len(result.home), "waitlisted": len(result.waitlisted)}


def load_venue_check_ins(city: Any, result: Any, *, now: datetime | None = None, days: int = 14) -> dict[str, int]:
    """The city's venues with venue codes, and the check-ins of the outbreak's last `days` days (the simulator's
    per-day visits, the people in quarantine or hospital left out), shifted as `load_outbreak_loop` shifts the
    outbreak so that its last day is today: venue co-visitors of the loaded cases can then be suggested."""
    from fangkong.people.models import PersonDocument
    from fangkong.simulate.datasets import checkins
    from fangkong.venues.loading import CheckInRow, VenueRow, load_check_ins, load_venues

    now = now or timezone.now()
    config = result.config
    last_day = config.start_date + timedelta(days=config.days - 1)
    shift = timedelta(days=(timezone.localdate(now) - last_day).days)
    reference = f"sim:{config.seed}"
    venues = load_venues(
        [VenueRow(str(v["venue_id"]), v["name"], v["category"], v["community_code"]) for v in city.venues.to_pylist()],
        reference=reference,
    )
    first = datetime.combine(
        last_day - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.get_current_timezone()
    )
    visits = [
        row for row in checkins(city, outbreak=result, days=config.days).to_pylist() if row["checkin_time"] >= first
    ]
    id_numbers = city.people.column("id_number").to_pylist()
    numbers = sorted({id_numbers[row["person_id"]] for row in visits})
    person_of: dict[str, int] = {}
    for start in range(0, len(numbers), 5_000):
        person_of.update(
            PersonDocument.objects.filter(number__in=numbers[start : start + 5_000]).values_list("number", "person_id")
        )
    rows = (
        CheckInRow(
            person_id=person_of[id_numbers[row["person_id"]]],
            venue_external_id=str(row["venue_id"]),
            checked_in_at=row["checkin_time"] + shift,
            minutes=int(row["minutes"]),
        )
        for row in visits
        if id_numbers[row["person_id"]] in person_of and row["checkin_time"] + shift <= now
    )
    return {"venues": len(venues), "check_ins": load_check_ins(rows, venues=venues, reference=reference)}
