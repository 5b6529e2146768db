"""Agent-based Delta outbreak over the synthetic city.

Agents are numpy arrays (struct of arrays). Transmission only draws the contacts of people who are infectious
today, layer by layer, so a day costs in proportion to the infectious count (plus one pass over the day's
venue visits). The daily step order is written once, in ``_Model.step``:

1. arrivals from the high-risk area (seeding, checkpoints);
2. transmission: household, school (class and school), work, community, venues;
3. detection: fever clinics, quarantine tests, mass-testing rounds;
4. reports: isolation in a designated hospital, then tracing into quarantine;
5. the day's resource counts.

Every random draw comes from its own named stream (``_rng.Streams``), so two scenarios differ only where a
policy acts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fangkong.simulate import _arrow, delta, places
from fangkong.simulate._rng import Streams, stream
from fangkong.simulate.city import STUDENT, City
from fangkong.simulate.delta import DiseaseParameters
from fangkong.simulate.interventions import Interventions

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NEVER = np.iinfo(np.int32).max // 2
SETTINGS = ("imported", "household", "school", "work", "community", "venue")
IMPORTED, HOUSEHOLD, SCHOOL, WORK, COMMUNITY, VENUE = range(6)
DETECTED_BY = ("fever_clinic", "quarantine_test", "mass_testing", "checkpoint")
FEVER, QUARANTINE_TEST, MASS_TEST, CHECKPOINT = range(4)
CONTACT_KINDS = ("close_contact", "secondary_contact", "arrival")
CLOSE, SECONDARY, ARRIVAL = range(3)
ENCLOSED = frozenset({"internet_cafe", "ktv", "chess_room", "restaurant", "elderly_centre", "cinema"})
HOLIDAYS = frozenset({(10, d) for d in range(1, 8)} | {(1, 1), (5, 1)})


@dataclass(frozen=True)
class OutbreakConfig:
    days: int = 90
    seed: int = 0
    start_date: dt.date = dt.date(2021, 10, 17)
    arrivals_per_day: int = 200  # residents returning from the high-risk area
    arrival_days: int = 5
    seed_infections: int = 10  # infected among those arrivals
    arrival_origin: str = "620100"  # where they come from (GB/T 2260; a Lanzhou-like high-risk city)
    disease: DiseaseParameters = field(default_factory=DiseaseParameters)
    interventions: Interventions = field(default_factory=Interventions)
    background_fever_tests_per_10k: float = 2.0  # fever-clinic patients without COVID, per day
    record_checkins: bool = False  # keep every venue visit (for the check-in data set)


@dataclass
class OutbreakResult:
    config: OutbreakConfig
    n_people: int
    daily: pa.Table
    cases: pa.Table
    investigations: pa.Table
    infection_tree: pa.Table
    quarantine: pa.Table
    arrivals: pa.Table
    checkins: pa.Table | None

    @property
    def attack_rate(self) -> float:
        return self.infection_tree.num_rows / self.n_people

    def tables(self) -> dict[str, pa.Table]:
        tables = {
            "daily": self.daily,
            "cases": self.cases,
            "investigations": self.investigations,
            "infection_tree": self.infection_tree,
            "quarantine": self.quarantine,
            "arrivals_truth": self.arrivals,
        }
        if self.checkins is not None:
            tables["checkins"] = self.checkins
        return tables

    def write_parquet(self, directory: str | Path) -> dict[str, Path]:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name, table in self.tables().items():
            path = out / f"{name}.parquet"
            pq.write_table(table, path, compression="zstd")
            written[name] = path
        return written

    def reproduction_number(self, first_days: int = 12) -> float:
        """Mean number of people infected by those infected in the first ``first_days`` (imports included)."""
        tree = self.infection_tree
        day = np.asarray(tree["day"].to_numpy(zero_copy_only=False))
        infectee = np.asarray(tree["infectee"].to_numpy(zero_copy_only=False))
        infector = np.asarray(cast(Any, pc).fill_null(tree["infector"], -1).to_numpy(zero_copy_only=False))
        early = infectee[day < day.min() + first_days]
        if early.shape[0] == 0:
            return 0.0
        return float(np.isin(infector, early).sum() / early.shape[0])

    def generation_intervals(self, first_days: int = 30) -> FloatArray:
        tree = self.infection_tree
        day = np.asarray(tree["day"].to_numpy(zero_copy_only=False))
        infectee = np.asarray(tree["infectee"].to_numpy(zero_copy_only=False))
        infector = np.asarray(cast(Any, pc).fill_null(tree["infector"], -1).to_numpy(zero_copy_only=False))
        infection_day = np.full(self.n_people, -1, dtype=np.int64)
        infection_day[infectee] = day
        has = (infector >= 0) & (day < day.min() + first_days)
        return np.asarray(day[has] - infection_day[infector[has]], dtype=np.float64)


class _Groups:
    """Members of each group, for drawing a random member fast (CSR layout)."""

    def __init__(self, group_of_person: IntArray, n_groups: int) -> None:
        has = np.flatnonzero(group_of_person >= 0)
        order = np.argsort(group_of_person[has], kind="stable")
        self.members = has[order]
        self.size = np.bincount(group_of_person[has], minlength=n_groups).astype(np.int64)
        self.start = np.cumsum(self.size) - self.size

    def draw(self, groups: IntArray, rng: np.random.Generator) -> IntArray:
        offsets = (rng.random(int(groups.shape[0])) * self.size[groups]).astype(np.int64)
        return np.asarray(self.members[self.start[groups] + offsets], dtype=np.int64)

    def all_members(self, groups: IntArray) -> tuple[IntArray, IntArray]:
        """(index into ``groups``, member) for every member of every listed group."""
        sizes = self.size[groups]
        owner = np.repeat(np.arange(groups.shape[0]), sizes)
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return owner, np.asarray(self.members[self.start[groups][owner] + offsets], dtype=np.int64)


def _expand(counts: IntArray) -> IntArray:
    return np.repeat(np.arange(counts.shape[0]), counts)


class _Venues:
    """Daily venue visits: who was at which venue in which 2-hour slot (independent of the epidemic)."""

    def __init__(self, city: City) -> None:
        a = city.arrays
        self.n_counties = len(city.prefecture.counties)
        self.categories = places.VENUE_CATEGORIES
        n_categories = len(self.categories)
        pools: list[IntArray] = []
        ticket_list: list[IntArray] = []
        self.ticket_start = np.zeros((n_categories, self.n_counties + 1), dtype=np.int64)
        self.ticket_count = np.zeros((n_categories, self.n_counties + 1), dtype=np.int64)
        venue_county = np.array([c.county for c in city.communities], dtype=np.int64)[a.venue_community]
        offset = 0
        for k, category in enumerate(self.categories):
            habit = places.VISIT_HABITS[category]
            pools.append(np.flatnonzero((a.age >= habit.min_age) & (a.age <= habit.max_age)))
            venues = np.flatnonzero(a.venue_category == k)
            weight = np.maximum(1, a.venue_capacity[venues] // 20)
            county = venue_county[venues]
            order = np.argsort(county, kind="stable")
            tickets = np.repeat(venues[order], weight[order])
            ticket_county = np.repeat(county[order], weight[order])
            count = np.bincount(ticket_county, minlength=self.n_counties).astype(np.int64)
            start = offset + np.cumsum(count) - count
            # A county without such a venue sends its visitors anywhere in the city (last column).
            self.ticket_start[k, : self.n_counties] = np.where(count > 0, start, offset)
            self.ticket_count[k, : self.n_counties] = np.where(count > 0, count, tickets.shape[0])
            ticket_list.append(tickets)
            offset += tickets.shape[0]
        self.tickets = np.concatenate(ticket_list).astype(np.int32)
        self.pool_sizes = np.array([pool.shape[0] for pool in pools], dtype=np.int64)
        self.pool_offsets = np.cumsum(self.pool_sizes) - self.pool_sizes
        self.pool = np.concatenate(pools).astype(np.int32)
        self.has_venues = self.ticket_count[:, 0] > 0
        self.probability = np.array([places.VISIT_HABITS[c].daily_probability for c in self.categories])
        self.weekend_boost = np.array([1.0 if c in {"hospital", "market"} else 1.4 for c in self.categories])
        self.first_slot = np.array([places.VISIT_HABITS[c].first_slot for c in self.categories])
        self.n_slots = np.array(
            [places.VISIT_HABITS[c].last_slot - places.VISIT_HABITS[c].first_slot + 1 for c in self.categories]
        )
        self.minutes_low = np.array([places.VISIT_HABITS[c].minutes[0] for c in self.categories])
        self.minutes_high = np.array([places.VISIT_HABITS[c].minutes[1] for c in self.categories])
        self.person_county = a.county.astype(np.int32)
        self.venue_category = a.venue_category
        self.n_groups = int(a.venue_category.shape[0]) * places.SLOTS_PER_DAY

    def visits(
        self, seed: int, day: int, weekend: bool, with_minutes: bool = False
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """(person, venue, slot, minutes) for every visit of the day; minutes are 0 unless asked for.

        The draws depend only on (seed, day), never on the epidemic, so the check-ins of any day can be
        regenerated; quarantine and closures are applied by the caller.
        """
        rng = stream(seed, f"visits:{day}")
        p = np.minimum(self.probability * (self.weekend_boost if weekend else 1.0), 1.0)
        m = rng.binomial(self.pool_sizes, p) * self.has_venues
        category = _expand(m)
        size = self.pool_sizes[category]
        person = self.pool[self.pool_offsets[category] + (rng.random(int(category.shape[0])) * size).astype(np.int64)]
        county = self.person_county[person]
        total = self.ticket_count[category, county]
        scaled = rng.random(int(category.shape[0])) * total
        whole = scaled.astype(np.int64)
        venue = self.tickets[self.ticket_start[category, county] + whole]
        # One uniform gives the ticket (integer part) and the slot (fractional part).
        slot = self.first_slot[category] + ((scaled - whole) * self.n_slots[category]).astype(np.int64)
        if with_minutes:
            low = self.minutes_low[category]
            minutes = low + (rng.random(int(category.shape[0])) * (self.minutes_high[category] - low + 1)).astype(
                np.int64
            )
        else:
            minutes = np.zeros(category.shape[0], dtype=np.int64)
        return person.astype(np.int64), venue.astype(np.int64), slot, minutes


class _Model:
    def __init__(self, city: City, config: OutbreakConfig) -> None:
        self.city = city
        self.config = config
        self.p = config.disease
        self.iv = config.interventions
        self.rng = Streams(config.seed)
        a = city.arrays
        n = city.n_people
        self.n = n
        self.a = a
        # ---- agent state ----
        self.infected_day = np.full(n, -1, dtype=np.int32)
        self.infectious_start = np.full(n, NEVER, dtype=np.int32)
        self.onset_day = np.full(n, -1, dtype=np.int32)
        self.severity = np.zeros(n, dtype=np.int8)
        self.relative_infectiousness = np.ones(n, dtype=np.float32)
        self.susceptibility = np.ones(n, dtype=np.float32)
        self.vaccinated = np.zeros(n, dtype=bool)
        self.isolated_day = np.full(n, NEVER, dtype=np.int32)  # reported case in hospital from this day
        self.reported = np.zeros(n, dtype=bool)
        self.quarantine_until = np.zeros(n, dtype=np.int32)  # out of circulation while day < this
        self.quarantine_central = np.zeros(n, dtype=bool)
        self.detection_pending = np.zeros(n, dtype=bool)
        self.active = np.zeros(0, dtype=np.int64)  # infected and not yet past infectiousness
        self.profile = self.p.profile_array()
        self.profile_days = self.profile.shape[0]
        # ---- groups ----
        self.class_groups = _Groups(a.school_class, int(a.school_class.max()) + 1 if n else 0)
        self.school_groups = _Groups(a.school, a.school_kind.shape[0])
        self.work_groups = _Groups(a.workplace, a.workplace_size.shape[0])
        self.community_groups = _Groups(a.community, len(city.communities))
        self.county_groups = _Groups(a.county, len(city.prefecture.counties))
        self.venues = _Venues(city)
        self.venue_contacts = np.array([self.p.venue[c][0] for c in places.VENUE_CATEGORIES])
        self.venue_beta = np.array([self.p.venue[c][1] for c in places.VENUE_CATEGORIES])
        self.enclosed = np.array([c in ENCLOSED for c in places.VENUE_CATEGORIES])
        # ---- records ----
        days = config.days
        self.series: dict[str, IntArray] = {
            name: np.zeros(days, dtype=np.int64)
            for name in (
                "new_infections",
                "new_imported",
                "household_infections",
                "school_infections",
                "work_infections",
                "community_infections",
                "venue_infections",
                "new_cases",
                "new_symptomatic_cases",
                "new_asymptomatic_cases",
                "new_close_contacts",
                "new_secondary_contacts",
                "tests",
                "tubes",
                "fever_clinic_tests",
                "quarantine_tests",
                "mass_tests",
                "in_quarantine_rooms",
                "home_quarantine",
                "beds_used",
                "infectious",
                "venue_visits",
            )
        }
        self.room_changes = np.zeros(days + 400, dtype=np.int64)
        self.home_changes = np.zeros(days + 400, dtype=np.int64)
        self.bed_changes = np.zeros(days + 400, dtype=np.int64)
        self.rooms_used = 0
        tracing = self.iv.tracing
        self.rooms_total = (
            NEVER if tracing is None or tracing.rooms_per_10k is None else int(tracing.rooms_per_10k * n / 10_000)
        )
        self.tree: list[tuple[IntArray, IntArray, int, int, IntArray]] = []
        self.case_rows: list[tuple[IntArray, IntArray, int]] = []  # (person, sample day, detected_by)
        self.pending_reports: dict[int, list[tuple[IntArray, IntArray, int]]] = {}
        self.trace_queue: dict[int, list[IntArray]] = {}
        self.investigation_rows: list[tuple[IntArray, IntArray, IntArray]] = []
        self.placements: list[tuple[IntArray, int, int, int, BoolArray]] = []  # person, start, end, kind, central
        self.visit_log: deque[tuple[int, IntArray, IntArray, IntArray, IntArray]] = deque()
        self.checkins: list[tuple[int, IntArray, IntArray, IntArray, IntArray]] = []
        self.arrival_rows: list[tuple[IntArray, int, BoolArray, BoolArray, BoolArray]] = []
        self.first_report_day: int | None = None
        self._adults: IntArray = np.zeros(0, dtype=np.int64)
        self.infectious_today = np.zeros(n, dtype=np.float32)

    # ------------------------------------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> OutbreakResult:
        self._vaccinate()
        for day in range(self.config.days):
            self.step(day)
            if progress is not None:
                progress(day + 1, self.config.days)
        return self._result()

    def step(self, day: int) -> None:
        date = self.config.start_date + dt.timedelta(days=day)
        weekend = date.weekday() >= 5
        holiday = (date.month, date.day) in HOLIDAYS
        self.rooms_used += int(self.room_changes[day])
        self._arrivals(day)
        sources, weight = self._infectious(day)
        self._household(day, sources, weight)
        out = self._out_of_home(sources, day)
        if not weekend and not holiday:
            self._school(day, sources[out], weight[out])
        self._work(day, sources[out], weight[out], weekend or holiday)
        self._community(day, sources[out], weight[out])
        self._venue_day(day, weekend or holiday)
        self.infectious_today[sources] = 0.0
        self._detect(day)
        self._report(day)
        self._trace(day)
        self._count(day)

    # ---- seeding ---------------------------------------------------------------------------------------------
    def _vaccinate(self) -> None:
        vaccination = self.iv.vaccination
        if vaccination is None:
            return
        rng = self.rng("vaccination")
        age = self.a.age
        groups = {"3-11": (3, 11), "12-17": (12, 17), "18-59": (18, 59), "60+": (60, 200)}
        u = rng.random(self.n)
        for name, (low, high) in groups.items():
            share = vaccination.coverage.get(name, 0.0)
            self.vaccinated |= (age >= low) & (age <= high) & (u < share)
        self.susceptibility[self.vaccinated] *= np.float32(1.0 - vaccination.efficacy_infection)

    def _arrivals(self, day: int) -> None:
        config = self.config
        if day >= config.arrival_days:
            return
        rng = self.rng("arrivals")
        adults = np.flatnonzero((self.a.age >= 18) & (self.a.age <= 70)) if day == 0 else self._adults
        self._adults = adults
        count = config.arrivals_per_day
        person = adults[rng.integers(0, adults.shape[0], count)]
        person = np.unique(person[self.infected_day[person] < 0])
        rng.shuffle(person)
        infected_here = config.seed_infections // config.arrival_days + (
            1 if day < config.seed_infections % config.arrival_days else 0
        )
        infected = np.zeros(person.shape[0], dtype=bool)
        infected[: min(infected_here, person.shape[0])] = True
        # Infected 0-3 days before arrival, while in the high-risk area.
        days_before = rng.integers(0, 4, int(person.shape[0]))
        via_checkpoint = np.zeros(person.shape[0], dtype=bool)
        turned_back = np.zeros(person.shape[0], dtype=bool)
        checkpoints = self.iv.checkpoints
        if infected.any():
            self._infect(
                person[infected],
                np.full(int(infected.sum()), -1, np.int64),
                day,
                IMPORTED,
                infected_days_ago=days_before[infected],
            )
        if checkpoints is not None:
            via_checkpoint = rng.random(int(person.shape[0])) < checkpoints.compliance
            # The certificate's test was taken up to certificate_hours before arrival.
            test_day = day - np.floor(rng.random(int(person.shape[0])) * checkpoints.certificate_hours / 24).astype(
                np.int64
            )
            detectable = self._detectable(person, test_day)
            turned_back = via_checkpoint & detectable & (rng.random(int(person.shape[0])) < self.p.pcr_sensitivity)
            if turned_back.any():
                self._queue_report(person[turned_back], np.full(int(turned_back.sum()), day, np.int64), day, CHECKPOINT)
            placed = via_checkpoint & ~turned_back
            if checkpoints.quarantine_days > 0 and placed.any():
                self._place(person[placed], day, checkpoints.quarantine_days, ARRIVAL, centralized=True)
        self.arrival_rows.append((person, day, infected, via_checkpoint, turned_back))

    # ---- infection -------------------------------------------------------------------------------------------
    def _infect(
        self,
        targets: IntArray,
        infectors: IntArray,
        day: int,
        setting: int,
        infected_days_ago: IntArray | None = None,
        venue: IntArray | None = None,
    ) -> None:
        if targets.shape[0] == 0:
            return
        targets, first = np.unique(targets, return_index=True)
        infectors = infectors[first]
        venue = venue[first] if venue is not None else np.full(targets.shape[0], -1, dtype=np.int64)
        fresh = self.infected_day[targets] < 0
        targets, infectors, venue = targets[fresh], infectors[fresh], venue[fresh]
        m = int(targets.shape[0])
        if m == 0:
            return
        rng = self.rng("progression")
        p = self.p
        ago = np.zeros(m, dtype=np.int64) if infected_days_ago is None else infected_days_ago[first][fresh]
        infection_day = day - ago
        latent = np.maximum(1, np.rint(delta.lognormal(p.latent_mean, p.latent_sd, m, rng))).astype(np.int64)
        start = infection_day + latent
        age = self.a.age[targets]
        asymptomatic = rng.random(m) < np.asarray(p.asymptomatic_share)[delta.age_band3(age)]
        presymptomatic = np.floor(rng.exponential(p.presymptomatic_mean, m) + rng.random(m)).astype(np.int64)
        onset = np.where(asymptomatic, -1, start + presymptomatic)
        table = np.cumsum(np.asarray(p.severity_by_age), axis=1)
        u = rng.random(m)
        band = delta.age_band4(age)
        severity = 1 + (u[:, None] > table[band][:, :3]).sum(axis=1)
        vaccination = self.iv.vaccination
        if vaccination is not None:
            vaccinated = self.vaccinated[targets]
            v = rng.random(m)
            severity = np.where(vaccinated & (severity >= 3) & (v < vaccination.efficacy_severe), 2, severity)
            severity = np.where(vaccinated & (severity == 2) & (v < vaccination.efficacy_moderate), 1, severity)
        severity = np.where(asymptomatic, 0, severity)
        self.infected_day[targets] = infection_day
        self.infectious_start[targets] = start
        self.onset_day[targets] = onset
        self.severity[targets] = severity
        self.relative_infectiousness[targets] = np.where(asymptomatic, p.asymptomatic_relative_infectiousness, 1.0)
        self.active = np.concatenate([self.active, targets])
        self.tree.append((infectors, targets, day, setting, venue))
        self.series["new_infections"][day] += m
        name = (
            "new_imported",
            "household_infections",
            "school_infections",
            "work_infections",
            "community_infections",
            "venue_infections",
        )[setting]
        self.series[name][day] += m

    def _infectious(self, day: int) -> tuple[IntArray, FloatArray]:
        active = self.active
        start = self.infectious_start[active]
        keep = start + self.profile_days > day
        active = active[keep]
        self.active = active
        start = start[keep]
        now = (start <= day) & (self.isolated_day[active] > day)
        sources = active[now]
        weight = self.profile[day - start[now]] * self.relative_infectiousness[sources]
        self.infectious_today[sources] = weight
        self.series["infectious"][day] = sources.shape[0]
        return sources, weight

    def _out_of_home(self, people: IntArray, day: int) -> BoolArray:
        return np.asarray((self.quarantine_until[people] <= day) & (self.isolated_day[people] > day))

    def _try(
        self,
        day: int,
        source_index: IntArray,
        sources: IntArray,
        weight: FloatArray,
        targets: IntArray,
        beta: float | FloatArray,
        setting: int,
        home: bool,
        venue: IntArray | None = None,
    ) -> None:
        """Infect each (source, target) contact with probability 1 - exp(-beta * weight * susceptibility)."""
        if targets.shape[0] == 0:
            return
        ok = (self.infected_day[targets] < 0) & (targets != sources[source_index])
        if home:
            ok &= ~(self.quarantine_central[targets] & (self.quarantine_until[targets] > day))
        else:
            ok &= self.quarantine_until[targets] <= day
        idx = np.flatnonzero(ok)
        if idx.shape[0] == 0:
            return
        t = targets[idx]
        b = beta[idx] if isinstance(beta, np.ndarray) else beta
        hazard = b * self.p.beta * weight[source_index[idx]] * self.susceptibility[t]
        rng = self.rng(SETTINGS[setting])
        hit = rng.random(int(idx.shape[0])) < -np.expm1(-hazard)
        if hit.any():
            self._infect(
                t[hit], sources[source_index[idx[hit]]], day, setting, venue=None if venue is None else venue[idx[hit]]
            )

    def _household(self, day: int, sources: IntArray, weight: FloatArray) -> None:
        can = ~(self.quarantine_central[sources] & (self.quarantine_until[sources] > day))
        sources, weight = sources[can], weight[can]
        household = self.a.household[sources]
        size = self.a.household_size[household]
        owner = _expand(size)
        offsets = np.arange(owner.shape[0]) - np.repeat(np.cumsum(size) - size, size)
        targets = self.a.household_start[household][owner] + offsets
        self._try(day, owner, sources, weight, targets, self.p.beta_household, HOUSEHOLD, home=True)

    def _group_layer(
        self,
        day: int,
        sources: IntArray,
        weight: FloatArray,
        groups: _Groups,
        group_of_person: IntArray,
        mean_contacts: float,
        beta: float,
        setting: int,
        stream_name: str,
    ) -> None:
        g = group_of_person[sources]
        has = g >= 0
        sources, weight, g = sources[has], weight[has], g[has]
        if sources.shape[0] == 0:
            return
        rng = self.rng(stream_name)
        # Thinning: of the k ~ Poisson contacts, only those that would transmit to a fully susceptible person
        # (probability q) are drawn; each is then accepted with p(target) / q. Exact, and it draws ~q·k targets.
        q = -np.expm1(-beta * self.p.beta * weight)
        k = np.minimum(rng.poisson(mean_contacts, sources.shape[0]), groups.size[g] - 1)
        m = rng.binomial(k, q)
        owner = _expand(m)
        targets = groups.draw(g[owner], rng)
        self._accept(day, owner, sources, weight, targets, q, beta, setting, rng)

    def _accept(
        self,
        day: int,
        owner: IntArray,
        sources: IntArray,
        weight: FloatArray,
        targets: IntArray,
        q: FloatArray,
        beta: float,
        setting: int,
        rng: np.random.Generator,
        venue: IntArray | None = None,
    ) -> None:
        """Second stage of thinning: accept a drawn transmission with p(target)/q(source)."""
        if targets.shape[0] == 0:
            return
        ok = (self.infected_day[targets] < 0) & (self.quarantine_until[targets] <= day) & (targets != sources[owner])
        idx = np.flatnonzero(ok)
        if idx.shape[0] == 0:
            return
        t = targets[idx]
        o = owner[idx]
        p_target = -np.expm1(-beta * self.p.beta * weight[o] * self.susceptibility[t])
        hit = rng.random(int(idx.shape[0])) * q[o] < p_target
        if hit.any():
            self._infect(t[hit], sources[o[hit]], day, setting, venue=None if venue is None else venue[idx[hit]])

    def _school(self, day: int, sources: IntArray, weight: FloatArray) -> None:
        p = self.p
        self._group_layer(
            day,
            sources,
            weight,
            self.class_groups,
            self.a.school_class,
            p.contacts_school_class,
            p.beta_school_class,
            SCHOOL,
            "school_class_contacts",
        )
        self._group_layer(
            day,
            sources,
            weight,
            self.school_groups,
            self.a.school,
            p.contacts_school,
            p.beta_school,
            SCHOOL,
            "school_contacts",
        )

    def _work(self, day: int, sources: IntArray, weight: FloatArray, weekend: bool) -> None:
        if weekend:
            rng = self.rng("weekend_work")
            keep = rng.random(int(sources.shape[0])) < 0.25
            sources, weight = sources[keep], weight[keep]
        self._group_layer(
            day,
            sources,
            weight,
            self.work_groups,
            self.a.workplace,
            self.p.contacts_work,
            self.p.beta_work,
            WORK,
            "work_contacts",
        )

    def _community(self, day: int, sources: IntArray, weight: FloatArray) -> None:
        if sources.shape[0] == 0:
            return
        p = self.p
        rng = self.rng("community_contacts")
        q = -np.expm1(-p.beta_community * p.beta * weight)
        m = rng.poisson(p.contacts_community * q)  # thinned Poisson contacts (see _group_layer)
        owner = _expand(m)
        outside = rng.random(int(owner.shape[0])) < p.community_share_outside
        targets = np.empty(owner.shape[0], dtype=np.int64)
        targets[~outside] = self.community_groups.draw(self.a.community[sources[owner[~outside]]], rng)
        targets[outside] = self.county_groups.draw(self.a.county[sources[owner[outside]]], rng)
        self._accept(day, owner, sources, weight, targets, q, p.beta_community, COMMUNITY, rng)

    def _venue_day(self, day: int, weekend: bool) -> None:
        tracing = self.iv.tracing
        record = self.config.record_checkins
        person, venue, slot, minutes = self.venues.visits(self.config.seed, day, weekend, with_minutes=record)
        rules = self.iv.venues
        if (
            rules is not None
            and self.first_report_day is not None
            and (day >= self.first_report_day + rules.start_after_first_report_days)
        ):
            category = self.venues.venue_category[venue]
            keep = np.ones(person.shape[0], dtype=bool)
            for k, name in enumerate(places.VENUE_CATEGORIES):
                if name in rules.closed_categories:
                    keep &= category != k
                elif name in rules.capacity_caps:
                    rng = self.rng("venue_caps")
                    keep &= (category != k) | (rng.random(int(person.shape[0])) < rules.capacity_caps[name])
            person, venue, slot, minutes = person[keep], venue[keep], slot[keep], minutes[keep]
        if tracing is not None or record:
            keep = self._out_of_home(person, day)
            person, venue, slot, minutes = person[keep], venue[keep], slot[keep], minutes[keep]
            if tracing is not None:
                enclosed = self.enclosed[self.venues.venue_category[venue]]
                self.visit_log.append((day, person[enclosed], venue[enclosed], slot[enclosed], minutes[enclosed]))
                while self.visit_log and self.visit_log[0][0] < day - tracing.lookback_days - 8:
                    self.visit_log.popleft()
            if record:
                self.checkins.append((day, person, venue, slot, minutes))
        self.series["venue_visits"][day] = person.shape[0]
        w = self.infectious_today[person]
        carriers = np.flatnonzero(w > 0)
        if carriers.shape[0]:
            carriers = carriers[self._out_of_home(person[carriers], day)]
        if carriers.shape[0] == 0:
            return
        group = venue * places.SLOTS_PER_DAY + slot
        carrier_groups = np.unique(group[carriers])
        local = np.full(self.venues.n_groups, -1, dtype=np.int64)  # dense map: group → carrier-group index
        local[carrier_groups] = np.arange(carrier_groups.shape[0])
        pos = local[group]
        exposed = np.flatnonzero(pos >= 0)  # visits sharing a slot with a carrier
        exposed = exposed[self._out_of_home(person[exposed], day)]
        g_local = pos[exposed]
        present = np.bincount(g_local, minlength=carrier_groups.shape[0]).astype(np.float64)
        is_carrier = np.zeros(person.shape[0], dtype=bool)
        is_carrier[carriers] = True
        pressure = np.bincount(pos[carriers], weights=w[carriers], minlength=carrier_groups.shape[0])
        ex_person = person[exposed]
        susceptible = (self.infected_day[ex_person] < 0) & ~is_carrier[exposed]
        exposed, g_local, ex_person = exposed[susceptible], g_local[susceptible], ex_person[susceptible]
        if exposed.shape[0] == 0:
            return
        category = self.venues.venue_category[venue[exposed]]
        force = (
            self.venue_contacts[category]
            * self.venue_beta[category]
            * pressure[g_local]
            / np.maximum(present[g_local] - 1.0, 1.0)
        )
        rng = self.rng("venue")
        hazard = self.p.beta * force * self.susceptibility[ex_person]
        hit = rng.random(int(exposed.shape[0])) < -np.expm1(-hazard)
        if not hit.any():
            return
        # Attribute each infection to a carrier present in the same slot.
        carrier_sorted = carriers[np.argsort(group[carriers], kind="stable")]
        carrier_group_sorted = group[carrier_sorted]
        lo = np.searchsorted(carrier_group_sorted, group[exposed[hit]], side="left")
        hi = np.searchsorted(carrier_group_sorted, group[exposed[hit]], side="right")
        pick = lo + (rng.random(int(lo.shape[0])) * (hi - lo)).astype(np.int64)
        infectors = person[carrier_sorted[pick]]
        self._infect(ex_person[hit], infectors, day, VENUE, venue=venue[exposed[hit]])

    # ---- detection -------------------------------------------------------------------------------------------
    def _detectable(self, people: IntArray, day: IntArray | int) -> BoolArray:
        start = self.infectious_start[people].astype(np.int64)
        return np.asarray(
            (self.infected_day[people] >= 0)
            & (day >= start - 1)
            & (day < start + self.profile_days + self.p.detectable_after_days)
        )

    def _queue_report(self, people: IntArray, sample_day: IntArray, report_day: int, detected_by: int) -> None:
        fresh = ~self.detection_pending[people] & ~self.reported[people]
        people, sample_day = people[fresh], sample_day[fresh]
        if people.shape[0] == 0:
            return
        people, first = np.unique(people, return_index=True)
        self.detection_pending[people] = True
        self.pending_reports.setdefault(report_day, []).append((people, sample_day[first], detected_by))

    def _detect(self, day: int) -> None:
        iv = self.iv
        rng = self.rng("detection")
        fever = iv.fever_clinics
        if fever is not None:
            background = int(rng.poisson(self.config.background_fever_tests_per_10k * self.n / 10_000))
            self.series["fever_clinic_tests"][day] += background
            candidates = self.active[
                (self.onset_day[self.active] >= 0)
                & (self.onset_day[self.active] <= day)
                & ~self.reported[self.active]
                & ~self.detection_pending[self.active]
                & (self.quarantine_until[self.active] <= day)
            ]
            visit_p = np.asarray(fever.daily_visit_probability)[np.maximum(self.severity[candidates], 1) - 1]
            visitors = candidates[rng.random(int(candidates.shape[0])) < visit_p]
            self.series["fever_clinic_tests"][day] += visitors.shape[0]
            positive = visitors[
                self._detectable(visitors, day) & (rng.random(int(visitors.shape[0])) < self.p.pcr_sensitivity)
            ]
            self._queue_report(positive, np.full(positive.shape[0], day, np.int64), day + fever.turnaround_days, FEVER)
        if self.placements:
            self._quarantine_tests(day, rng)
        if iv.mass_testing is not None and self.first_report_day is not None:
            self._mass_testing(day, rng)

    def _quarantine_tests(self, day: int, rng: np.random.Generator) -> None:
        tracing = self.iv.tracing
        close_days = np.asarray(tracing.close_test_days if tracing else (1, 4, 7, 14))
        secondary_days = np.asarray(tracing.secondary_test_days if tracing else (1, 4, 7))
        testers: list[IntArray] = []
        for person, start, end, kind, _central in self.placements:
            if end <= day:
                continue
            test_days = secondary_days if kind == SECONDARY else close_days
            if (day - start + 1) in test_days:
                still = person[(self.quarantine_until[person] > day) & ~self.reported[person]]
                testers.append(still)
        if not testers:
            return
        people = np.concatenate(testers)
        self.series["quarantine_tests"][day] += people.shape[0]
        positive = people[self._detectable(people, day) & (rng.random(int(people.shape[0])) < self.p.pcr_sensitivity)]
        self._queue_report(positive, np.full(positive.shape[0], day, np.int64), day, QUARANTINE_TEST)

    def _mass_testing(self, day: int, rng: np.random.Generator) -> None:
        mt = self.iv.mass_testing
        assert mt is not None
        assert self.first_report_day is not None
        offset = day - self.first_report_day - mt.start_after_first_report_days
        if offset < 0 or offset >= mt.rounds * mt.interval_days:
            return
        within = offset % mt.interval_days
        if within >= mt.days_per_round:
            return
        lo = self.n * within // mt.days_per_round
        hi = self.n * (within + 1) // mt.days_per_round
        people = np.arange(lo, hi, dtype=np.int64)
        sampled = people[
            (rng.random(int(people.shape[0])) < mt.coverage)
            & (self.quarantine_until[people] <= day)
            & ~self.reported[people]
            & (self.isolated_day[people] > day)
        ]
        m = sampled.shape[0]
        pools = np.arange(m) // mt.pool_size
        sensitivity = self.p.pcr_sensitivity * (1.0 - mt.pool_sensitivity_loss_per_10 * mt.pool_size / 10.0)
        infected_rows = np.flatnonzero(self.infected_day[sampled] >= 0)
        carriers = sampled[infected_rows]
        hit_rows = infected_rows[self._detectable(carriers, day) & (rng.random(int(carriers.shape[0])) < sensitivity)]
        positive_pools = np.unique(pools[hit_rows])
        tubes = int(pools[-1]) + 1 if m else 0
        retests = int(np.isin(pools, positive_pools).sum())
        self.series["mass_tests"][day] += m + retests
        self.series["tubes"][day] += tubes + retests
        positive = sampled[hit_rows]
        self._queue_report(positive, np.full(positive.shape[0], day, np.int64), day + mt.turnaround_days, MASS_TEST)

    # ---- reports, isolation, tracing -------------------------------------------------------------------------
    def _report(self, day: int) -> None:
        batches = self.pending_reports.pop(day, [])
        for people, sample_day, detected_by in batches:
            people_new = people[~self.reported[people]]
            sample_day = sample_day[~self.reported[people]]
            if people_new.shape[0] == 0:
                continue
            self.reported[people_new] = True
            self.isolated_day[people_new] = np.minimum(self.isolated_day[people_new], day)
            self._release(people_new, day)
            self.case_rows.append((people_new, sample_day, detected_by))
            if self.first_report_day is None:
                self.first_report_day = day
            symptomatic = self.onset_day[people_new] >= 0
            self.series["new_cases"][day] += people_new.shape[0]
            self.series["new_symptomatic_cases"][day] += int(symptomatic.sum())
            self.series["new_asymptomatic_cases"][day] += int((~symptomatic).sum())
            stay = np.asarray(self.p.hospital_days)[self.severity[people_new]]
            np.add.at(self.bed_changes, day + stay, -1)
            self.bed_changes[day] += people_new.shape[0]
            if self.iv.tracing is not None:
                self.trace_queue.setdefault(day + self.iv.tracing.delay_days, []).append(people_new)

    def _release(self, people: IntArray, day: int) -> None:
        """People reported as cases leave quarantine (their room or home place is freed)."""
        inside = people[self.quarantine_until[people] > day]
        if inside.shape[0] == 0:
            return
        central = self.quarantine_central[inside]
        ends = self.quarantine_until[inside].astype(np.int64)
        np.add.at(self.room_changes, ends[central], 1)
        np.add.at(self.home_changes, ends[~central], 1)
        self.rooms_used -= int(central.sum())
        self.home_changes[day] -= int((~central).sum())
        self.quarantine_until[inside] = day
        self.quarantine_central[inside] = False

    def _place(self, people: IntArray, day: int, days: int, kind: int, centralized: bool) -> None:
        people = np.unique(people)
        people = people[(self.quarantine_until[people] <= day) & ~self.reported[people]]
        if people.shape[0] == 0:
            return
        central = np.zeros(people.shape[0], dtype=bool)
        if centralized:
            free = max(0, self.rooms_total - self.rooms_used)
            central[: min(free, people.shape[0])] = True
        end = day + days
        self.quarantine_until[people] = end
        self.quarantine_central[people] = central
        k_central = int(central.sum())
        self.rooms_used += k_central
        self.room_changes[end] -= k_central
        self.home_changes[day] += people.shape[0] - k_central
        self.home_changes[end] -= people.shape[0] - k_central
        self.placements.append((people, day, end, kind, central))
        if kind == CLOSE:
            self.series["new_close_contacts"][day] += people.shape[0]
        elif kind == SECONDARY:
            self.series["new_secondary_contacts"][day] += people.shape[0]

    def _trace(self, day: int) -> None:
        tracing = self.iv.tracing
        batches = self.trace_queue.pop(day, [])
        if tracing is None or not batches:
            return
        cases = np.unique(np.concatenate(batches))
        rng = self.rng("tracing")
        a = self.a
        found: list[IntArray] = []
        owners: list[IntArray] = []
        # Household members.
        household = a.household[cases]
        size = a.household_size[household]
        owner = _expand(size)
        members = a.household_start[household][owner] + (
            np.arange(owner.shape[0]) - np.repeat(np.cumsum(size) - size, size)
        )
        keep = rng.random(int(owner.shape[0])) < tracing.household_probability
        found.append(members[keep])
        owners.append(owner[keep])
        # Classmates (the whole class) of student cases.
        students = np.flatnonzero(a.school_class[cases] >= 0)
        if students.shape[0]:
            own, mates = self.class_groups.all_members(a.school_class[cases[students]])
            keep = rng.random(int(mates.shape[0])) < tracing.school_probability
            found.append(mates[keep])
            owners.append(students[own[keep]])
        # Coworkers listed by the employer.
        workers = np.flatnonzero(a.workplace[cases] >= 0)
        if workers.shape[0]:
            g = a.workplace[cases[workers]]
            k = np.minimum(self.work_groups.size[g], tracing.coworkers_listed)
            own = _expand(k)
            mates = self.work_groups.draw(g[own], rng)
            keep = rng.random(int(mates.shape[0])) < tracing.work_probability
            found.append(mates[keep])
            owners.append(workers[own[keep]])
        # Co-visitors of enclosed venues in the same slot during the look-back window (venue-code check-ins).
        case_index = np.full(self.n, -1, dtype=np.int64)
        case_index[cases] = np.arange(cases.shape[0])
        window_start = (
            np.minimum(np.where(self.onset_day[cases] >= 0, self.onset_day[cases], NEVER), self.isolated_day[cases])
            - tracing.lookback_days
        )
        for log_day, person, venue, slot, _minutes in self.visit_log:
            mine = case_index[person]
            is_case_visit = mine >= 0
            if not is_case_visit.any():
                continue
            rows = np.flatnonzero(is_case_visit)
            rows = rows[window_start[mine[rows]] <= log_day]
            if rows.shape[0] == 0:
                continue
            group = venue * places.SLOTS_PER_DAY + slot
            case_groups, first = np.unique(group[rows], return_index=True)
            pos = np.minimum(np.searchsorted(case_groups, group), case_groups.shape[0] - 1)
            co = np.flatnonzero(case_groups[pos] == group)
            # Close contacts are those near the case (same room, table area), about as many as the venue's
            # effective contacts; the rest of the slot's visitors are general contacts, not quarantined.
            present = np.bincount(pos[co], minlength=case_groups.shape[0]).astype(np.float64)
            near = self.venue_contacts[self.venues.venue_category[venue[co]]] * tracing.venue_close_contact_factor
            share = np.minimum(1.0, near / np.maximum(present[pos[co]] - 1.0, 1.0))
            keep = rng.random(int(co.shape[0])) < tracing.venue_probability * share
            found.append(person[co[keep]])
            owners.append(mine[rows[first[pos[co[keep]]]]])
        # People the case infected in casual settings that the investigation still finds.
        if self.tree:
            infectors = np.concatenate([t[0] for t in self.tree])
            infectees = np.concatenate([t[1] for t in self.tree])
            settings = np.concatenate([np.full(t[1].shape[0], t[3]) for t in self.tree])
            rows = np.flatnonzero(
                (case_index[np.maximum(infectors, 0)] >= 0) & (infectors >= 0) & (settings == COMMUNITY)
            )
            keep = rng.random(int(rows.shape[0])) < tracing.community_probability
            found.append(infectees[rows[keep]])
            owners.append(case_index[infectors[rows[keep]]])
        contacts = np.concatenate(found) if found else np.zeros(0, np.int64)
        contact_owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        keep = (contacts != cases[contact_owner]) & ~self.reported[contacts]
        contacts, contact_owner = contacts[keep], contact_owner[keep]
        close = np.unique(contacts)
        self._place(close, day, tracing.close_quarantine_days, CLOSE, centralized=True)
        close_count = np.bincount(contact_owner, minlength=cases.shape[0])
        secondary_count = np.zeros(cases.shape[0], dtype=np.int64)
        if tracing.secondary and close.shape[0]:
            household = a.household[close]
            size = a.household_size[household]
            owner = _expand(size)
            members = a.household_start[household][owner] + (
                np.arange(owner.shape[0]) - np.repeat(np.cumsum(size) - size, size)
            )
            new = members[(self.quarantine_until[members] <= day) & ~self.reported[members]]
            self._place(
                new, day, tracing.secondary_quarantine_days, SECONDARY, centralized=tracing.secondary_centralized
            )
            first_owner = np.full(self.n, -1, dtype=np.int64)
            first_owner[contacts[::-1]] = contact_owner[::-1]
            owner_of_new = first_owner[members[(self.quarantine_until[members] > day)]]
            secondary_count = np.bincount(owner_of_new[owner_of_new >= 0], minlength=cases.shape[0])
        self.investigation_rows.append((cases, close_count.astype(np.int64), secondary_count.astype(np.int64)))

    # ---- counts and results ----------------------------------------------------------------------------------
    def _count(self, day: int) -> None:
        s = self.series
        s["in_quarantine_rooms"][day] = self.rooms_used
        s["home_quarantine"][day] = int(self.home_changes[: day + 1].sum())
        s["beds_used"][day] = int(self.bed_changes[: day + 1].sum())
        s["tests"][day] = s["fever_clinic_tests"][day] + s["quarantine_tests"][day] + s["mass_tests"][day]
        s["tubes"][day] += s["fever_clinic_tests"][day] + s["quarantine_tests"][day]

    def _result(self) -> OutbreakResult:
        config = self.config
        start = np.datetime64(config.start_date, "D")
        days = np.arange(config.days)
        series = {k: pa.array(v, pa.int64()) for k, v in self.series.items()}
        series["cumulative_infections"] = pa.array(np.cumsum(self.series["new_infections"]), pa.int64())
        daily = pa.table({"day": pa.array(days, pa.int32()), "date": pa.array(start + days, pa.date32()), **series})
        case_tables = _cases_table(self, start)
        investigations = _investigations_table(self, start)
        tree = _tree_table(self)
        quarantine = _quarantine_table(self, start)
        arrivals = _arrivals_table(self, start)
        checkins = _checkins_table(self, start) if config.record_checkins else None
        return OutbreakResult(config, self.n, daily, case_tables, investigations, tree, quarantine, arrivals, checkins)


def _dates(start: np.datetime64, days: IntArray, missing: BoolArray | None = None) -> _arrow.ArrowArray:
    values = start + days.astype("timedelta64[D]")
    return pa.array(values, pa.date32(), mask=missing)


def _cases_table(model: _Model, start: np.datetime64) -> pa.Table:
    if model.case_rows:
        person = np.concatenate([r[0] for r in model.case_rows])
        sample = np.concatenate([r[1] for r in model.case_rows]).astype(np.int64)
        detected = np.concatenate([np.full(r[0].shape[0], r[2]) for r in model.case_rows])
    else:
        person = sample = detected = np.zeros(0, dtype=np.int64)
    report = model.isolated_day[person].astype(np.int64)
    onset = model.onset_day[person].astype(np.int64)
    no_onset = (onset < 0) | (onset > report)  # not yet symptomatic when reported → onset unknown then
    city = model.city
    return pa.table(
        {
            "person_id": _arrow.ints(person),
            "onset_date": _dates(start, np.maximum(onset, 0), no_onset),
            "sample_date": _dates(start, sample),
            "report_date": _dates(start, report),
            "severity": _arrow.take_strings(list(delta.SEVERITY_NAMES), model.severity[person].astype(np.int64)),
            "symptomatic_at_report": pa.array(~no_onset),
            "detected_by": _arrow.take_strings(list(DETECTED_BY), detected),
            "community_code": _arrow.take_strings(city.community_codes, city.arrays.community[person]),
            "vaccinated": pa.array(model.vaccinated[person]),
            "infection_date": _dates(start, model.infected_day[person].astype(np.int64)),
        }
    )


def _tree_arrays(model: _Model) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    if not model.tree:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, z
    infector = np.concatenate([t[0] for t in model.tree]).astype(np.int64)
    infectee = np.concatenate([t[1] for t in model.tree]).astype(np.int64)
    setting = np.concatenate([np.full(t[1].shape[0], t[3]) for t in model.tree]).astype(np.int64)
    venue = np.concatenate([t[4] for t in model.tree]).astype(np.int64)
    day = model.infected_day[infectee].astype(np.int64)
    return infector, infectee, day, setting, venue


def _tree_table(model: _Model) -> pa.Table:
    infector, infectee, day, setting, venue = _tree_arrays(model)
    return pa.table(
        {
            "infector": _arrow.nullable_ints(infector),
            "infectee": _arrow.ints(infectee),
            "day": pa.array(day, pa.int32()),
            "setting": _arrow.take_strings(list(SETTINGS), setting),
            "venue_id": _arrow.nullable_ints(venue),
        }
    )


def _investigations_table(model: _Model, start: np.datetime64) -> pa.Table:
    """What an investigation finds: contacts listed, venues visited in the look-back, a suspected source."""
    if model.investigation_rows:
        person = np.concatenate([r[0] for r in model.investigation_rows])
        close = np.concatenate([r[1] for r in model.investigation_rows])
        secondary = np.concatenate([r[2] for r in model.investigation_rows])
    else:
        person = close = secondary = np.zeros(0, dtype=np.int64)
    infector, infectee, _day, setting, venue = _tree_arrays(model)
    source = np.full(model.n, -1, dtype=np.int64)
    source_setting = np.zeros(model.n, dtype=np.int64)
    source_venue = np.full(model.n, -1, dtype=np.int64)
    source[infectee] = infector
    source_setting[infectee] = setting
    source_venue[infectee] = venue
    src = source[person]
    # The investigation links a case to its infector only if that infector is a known case.
    known = (src >= 0) & model.reported[np.maximum(src, 0)]
    linked = np.where(known, src, -1)
    imported = source_setting[person] == IMPORTED
    return pa.table(
        {
            "person_id": _arrow.ints(person),
            "close_contacts": _arrow.ints(close),
            "secondary_contacts": _arrow.ints(secondary),
            "linked_case_person_id": _arrow.nullable_ints(linked),
            "suspected_setting": pa.array(
                np.where(known | imported, np.array(SETTINGS, dtype=object)[source_setting[person]], None),
                pa.string(),
            ),
            "suspected_venue_id": _arrow.nullable_ints(np.where(known, source_venue[person], -1)),
            "travel_history": pa.array(imported),
        }
    )


def _quarantine_table(model: _Model, start: np.datetime64) -> pa.Table:
    if model.placements:
        person = np.concatenate([p[0] for p in model.placements])
        begin = np.concatenate([np.full(p[0].shape[0], p[1]) for p in model.placements]).astype(np.int64)
        end = np.concatenate([np.full(p[0].shape[0], p[2]) for p in model.placements]).astype(np.int64)
        kind = np.concatenate([np.full(p[0].shape[0], p[3]) for p in model.placements]).astype(np.int64)
        central = np.concatenate([p[4] for p in model.placements])
    else:
        person = begin = end = kind = np.zeros(0, dtype=np.int64)
        central = np.zeros(0, dtype=bool)
    return pa.table(
        {
            "person_id": _arrow.ints(person),
            "kind": _arrow.take_strings(list(CONTACT_KINDS), kind),
            "start_date": _dates(start, begin),
            "planned_end_date": _dates(start, end),
            "centralized": pa.array(central),
        }
    )


def _arrivals_table(model: _Model, start: np.datetime64) -> pa.Table:
    if model.arrival_rows:
        person = np.concatenate([r[0] for r in model.arrival_rows])
        day = np.concatenate([np.full(r[0].shape[0], r[1]) for r in model.arrival_rows]).astype(np.int64)
        infected = np.concatenate([r[2] for r in model.arrival_rows])
        checkpoint = np.concatenate([r[3] for r in model.arrival_rows])
        turned = np.concatenate([r[4] for r in model.arrival_rows])
    else:
        person = day = np.zeros(0, dtype=np.int64)
        infected = checkpoint = turned = np.zeros(0, dtype=bool)
    rng = stream(model.config.seed, "arrival_times")
    minute = rng.integers(6 * 60, 23 * 60, int(person.shape[0]))
    stamp = (start + day.astype("timedelta64[D]")).astype("datetime64[us]") + (minute - 8 * 60).astype("timedelta64[m]")
    return pa.table(
        {
            "person_id": _arrow.ints(person),
            "arrival_time": pa.array(stamp, pa.timestamp("us", tz="UTC")),
            "origin_code": pa.array([model.config.arrival_origin] * person.shape[0], pa.string()),
            "infected": pa.array(infected),
            "via_checkpoint": pa.array(checkpoint),
            "positive_at_checkpoint": pa.array(turned),
        }
    )


def _checkins_table(model: _Model, start: np.datetime64) -> pa.Table:
    rows = model.checkins
    if not rows:
        return pa.table(
            {
                "person_id": pa.array([], pa.int64()),
                "phone": pa.array([], pa.int64()),
                "venue_id": pa.array([], pa.int64()),
                "checkin_time": pa.array([], pa.timestamp("us", tz="UTC")),
                "minutes": pa.array([], pa.int32()),
            }
        )
    person = np.concatenate([r[1] for r in rows])
    venue = np.concatenate([r[2] for r in rows])
    day = np.concatenate([np.full(r[1].shape[0], r[0]) for r in rows]).astype(np.int64)
    minute_of_day = np.concatenate([places.visit_start_minute(r[1], r[2], r[3], r[0]) for r in rows])
    minutes = np.concatenate([r[4] for r in rows])
    local = (start + day.astype("timedelta64[D]")).astype("datetime64[us]") + minute_of_day.astype("timedelta64[m]")
    utc = local - np.timedelta64(8, "h")
    order = np.lexsort((person, utc))
    return pa.table(
        {
            "person_id": _arrow.ints(person[order]),
            "phone": pa.array(model.city.phones[person[order]], pa.int64()),
            "venue_id": _arrow.ints(venue[order]),
            "checkin_time": pa.array(utc[order], pa.timestamp("us", tz="UTC")),
            "minutes": pa.array(minutes[order].astype(np.int32), pa.int32()),
        }
    )


def run_outbreak(
    city: City, config: OutbreakConfig | None = None, progress: Callable[[int, int], None] | None = None
) -> OutbreakResult:
    """Simulate ``config.days`` days of a Delta outbreak seeded by arrivals from a high-risk area."""
    return _Model(city, config or OutbreakConfig()).run(progress)


def with_interventions(config: OutbreakConfig, interventions: Interventions) -> OutbreakConfig:
    return dataclasses.replace(config, interventions=interventions)


__all__ = ["OutbreakConfig", "OutbreakResult", "run_outbreak", "STUDENT"]
