"""Data sets derived from a city and an outbreak: location pings, venue check-ins, the police arrivals list
with realistic dirt, and community self-reports that overlap it.

Pings are written streaming (one Parquet file per day and chunk of people), so 10^9 rows never sit in memory.
Venue visits come from the same per-day stream as the outbreak's venue layer, so check-ins, pings and the
infection tree agree on who was where.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fangkong.simulate import _arrow, identity, places
from fangkong.simulate._rng import stream
from fangkong.simulate.city import City
from fangkong.simulate.outbreak import OutbreakResult, _Venues

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

METRES_PER_DEGREE_LAT = 110_540.0
METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0
CELL_ROW_FACTOR = 1_000_000
UTC_OFFSET = np.timedelta64(8, "h")  # Asia/Shanghai, no daylight saving


def grid_cell(
    lon: FloatArray, lat: FloatArray, cell_metres: float, origin: tuple[float, float], reference_lat: float
) -> IntArray:
    """Grid cell id ``row * 1_000_000 + col`` of a square grid over a local equirectangular projection.

    ``origin`` is the (lon, lat) of the grid's south-west corner (the prefecture's bounding box) and
    ``reference_lat`` the latitude whose cosine scales longitude (the bounding box's middle).
    """
    x = (np.asarray(lon) - origin[0]) * METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(reference_lat))
    y = (np.asarray(lat) - origin[1]) * METRES_PER_DEGREE_LAT
    col = np.floor(x / cell_metres).astype(np.int64)
    row = np.floor(y / cell_metres).astype(np.int64)
    return np.asarray(row * CELL_ROW_FACTOR + col, dtype=np.int64)


def city_grid_cell(city: City, lon: FloatArray, lat: FloatArray, cell_metres: float) -> IntArray:
    lon_min, lat_min, _lon_max, lat_max = city.prefecture.bbox
    return grid_cell(lon, lat, cell_metres, (lon_min, lat_min), (lat_min + lat_max) / 2.0)


def _blocked_by_day(outbreak: OutbreakResult | None, n: int, days: int) -> Callable[[int], BoolArray]:
    """Who stays at home (quarantine) or in hospital on a day, from an outbreak's tables."""
    if outbreak is None:
        empty = np.zeros(n, dtype=bool)
        return lambda day: empty
    start = np.datetime64(outbreak.config.start_date, "D")

    def days_of(column: pa.ChunkedArray[Any]) -> IntArray:
        values = column.to_numpy(zero_copy_only=False).astype("datetime64[D]")
        return np.asarray((values - start).astype(np.int64), dtype=np.int64)

    q_person = np.asarray(outbreak.quarantine["person_id"].to_numpy(zero_copy_only=False), dtype=np.int64)
    q_start = days_of(outbreak.quarantine["start_date"])
    q_end = days_of(outbreak.quarantine["planned_end_date"])
    c_person = np.asarray(outbreak.cases["person_id"].to_numpy(zero_copy_only=False), dtype=np.int64)
    c_start = days_of(outbreak.cases["report_date"])

    def blocked(day: int) -> BoolArray:
        mask = np.zeros(n, dtype=bool)
        mask[q_person[(q_start <= day) & (q_end > day)]] = True
        mask[c_person[c_start <= day]] = True
        return mask

    return blocked


@dataclass(frozen=True)
class PingStats:
    rows: int
    files: int
    bytes: int
    seconds: float
    directory: Path


def _write_ping_file(table: pa.Table, path: Path) -> int:
    pq.write_table(
        table,
        path,
        compression="zstd",
        use_dictionary=cast(Any, ["cell"]),
        column_encoding={"phone": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED"},
        row_group_size=1 << 22,
    )
    return path.stat().st_size


def write_pings(
    city: City,
    directory: str | Path,
    *,
    days: int = 14,
    start_date: dt.date = dt.date(2021, 10, 17),
    interval_minutes: int = 15,
    cell_metres: float = 800.0,
    seed: int = 0,
    outbreak: OutbreakResult | None = None,
    min_phone_age: int = 10,
    people_per_chunk: int = 250_000,
    writers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> PingStats:
    """Write carrier location pings: ``<directory>/date=YYYY-MM-DD/part-NNNNN.parquet``.

    Columns: ``phone`` int64, ``cell`` int64, ``ts`` timestamp[us, UTC]. Each phone pings every
    ``interval_minutes`` with its own phase; a person is at home, at school or work between their leave and
    return times on working days, and at a venue during each visit. Children under ``min_phone_age`` carry
    no phone. With ``outbreak``, quarantined people and reported cases stay put and visit nothing.
    """
    began = time.perf_counter()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    a = city.arrays
    n = city.n_people
    if outbreak is not None:
        start_date = outbreak.config.start_date
        seed = outbreak.config.seed
    day_visits = _visits_source(city, outbreak, seed, start_date, days)
    blocked_on = _blocked_by_day(outbreak, n, days)
    home_cell = city_grid_cell(city, a.lon, a.lat, cell_metres)
    schools = city.schools
    workplaces = city.workplaces
    school_cell = city_grid_cell(city, schools["lon"].to_numpy(), schools["lat"].to_numpy(), cell_metres)
    work_cell = city_grid_cell(city, workplaces["lon"].to_numpy(), workplaces["lat"].to_numpy(), cell_metres)
    venue_cell = city_grid_cell(city, a.venue_lon, a.venue_lat, cell_metres)
    day_cell = home_cell.copy()
    day_cell[a.school >= 0] = school_cell[a.school[a.school >= 0]]
    day_cell[a.workplace >= 0] = work_cell[a.workplace[a.workplace >= 0]]
    phones = city.phones
    carries = a.age >= min_phone_age
    phase = stream(seed, "ping_phase").integers(0, interval_minutes * 60, n).astype(np.int64)  # seconds
    per_day = 24 * 60 // interval_minutes
    minute_of_ping = np.arange(per_day, dtype=np.int64) * interval_minutes
    rows = files = size = 0
    steps = days * math.ceil(n / people_per_chunk)
    step = 0
    schema = pa.schema([("phone", pa.int64()), ("cell", pa.int64()), ("ts", pa.timestamp("us", tz="UTC"))])
    pool = ThreadPoolExecutor(max_workers=writers)
    pending: list[Future[int]] = []
    for day in range(days):
        date = start_date + dt.timedelta(days=day)
        weekend = date.weekday() >= 5
        blocked = blocked_on(day)
        person, venue, visit_start, minutes = day_visits(day)
        order = np.argsort(person, kind="stable")
        person, venue, visit_start, minutes = person[order], venue[order], visit_start[order], minutes[order]
        midnight_utc = (np.datetime64(date, "D").astype("datetime64[us]") - UTC_OFFSET).astype(np.int64)
        day_dir = out / f"date={date.isoformat()}"
        day_dir.mkdir(exist_ok=True)
        for chunk_index, lo in enumerate(range(0, n, people_per_chunk)):
            hi = min(n, lo + people_per_chunk)
            ids = np.arange(lo, hi)
            ids = ids[carries[lo:hi]]
            m = ids.shape[0]
            cells = np.repeat(home_cell[ids][:, None], per_day, axis=1)
            goes_out = (a.leave_home[ids] >= 0) & ~blocked[ids] & (not weekend)
            if goes_out.any():
                rows_out = np.flatnonzero(goes_out)
                leave = a.leave_home[ids[rows_out]].astype(np.int64)[:, None]
                back = a.return_home[ids[rows_out]].astype(np.int64)[:, None]
                away = (minute_of_ping[None, :] >= leave) & (minute_of_ping[None, :] < back)
                sub = cells[rows_out]
                sub[away] = np.broadcast_to(day_cell[ids[rows_out]][:, None], sub.shape)[away]
                cells[rows_out] = sub
            # Venue visits of this chunk: overwrite the pings that fall inside each visit.
            v_lo, v_hi = np.searchsorted(person, [lo, hi])
            if v_hi > v_lo:
                vp = person[v_lo:v_hi]
                local_row = np.searchsorted(ids, vp)
                has_phone = (local_row < m) & (ids[np.minimum(local_row, m - 1)] == vp)
                vp_row = local_row[has_phone]
                first = (visit_start[v_lo:v_hi][has_phone] + interval_minutes - 1) // interval_minutes
                last = (visit_start[v_lo:v_hi][has_phone] + minutes[v_lo:v_hi][has_phone]) // interval_minutes
                span = np.maximum(np.minimum(last, per_day) - first, 0)
                owner = np.repeat(np.arange(span.shape[0]), span)
                ping = np.repeat(first, span) + (np.arange(owner.shape[0]) - np.repeat(np.cumsum(span) - span, span))
                cells[vp_row[owner], ping] = venue_cell[venue[v_lo:v_hi][has_phone][owner]]
            stamps = midnight_utc + phase[ids][:, None] * 1_000_000 + minute_of_ping[None, :] * 60_000_000
            table = pa.table(
                {
                    "phone": pa.array(np.repeat(phones[ids], per_day), pa.int64()),
                    "cell": pa.array(cells.ravel(), pa.int64()),
                    "ts": pa.array(stamps.ravel(), pa.timestamp("us", tz="UTC")),
                },
                schema=schema,
            )
            path = day_dir / f"part-{chunk_index:05d}.parquet"
            # Encoding dominates, and pyarrow releases the GIL while writing: overlap writing with the next
            # chunk's generation on a small pool, holding at most ``writers`` chunks in memory.
            while len(pending) >= writers:
                size += pending.pop(0).result()
            pending.append(pool.submit(_write_ping_file, table, path))
            rows += table.num_rows
            files += 1
            step += 1
            if progress is not None:
                progress(step, steps)
    for future in pending:
        size += future.result()
    pool.shutdown()
    return PingStats(rows, files, size, time.perf_counter() - began, out)


def _visits_source(
    city: City, outbreak: OutbreakResult | None, seed: int, start_date: dt.date, days: int
) -> Callable[[int], tuple[IntArray, IntArray, IntArray, IntArray]]:
    """Per day: (person, venue, start minute, minutes) of every visit.

    From the outbreak's recorded check-ins when it kept them (closures, caps and quarantine applied exactly);
    otherwise regenerated from the same per-day stream, without the people in quarantine or hospital.
    """
    recorded = outbreak.checkins if outbreak is not None else None
    if recorded is not None and outbreak is not None:
        local = np.asarray(recorded["checkin_time"].to_numpy(zero_copy_only=False), dtype="datetime64[us]")
        local = local + UTC_OFFSET
        day_of = (local.astype("datetime64[D]") - np.datetime64(outbreak.config.start_date, "D")).astype(np.int64)
        minute = ((local - local.astype("datetime64[D]")).astype("timedelta64[m]")).astype(np.int64)
        person_all = np.asarray(recorded["person_id"].to_numpy(), dtype=np.int64)
        venue_all = np.asarray(recorded["venue_id"].to_numpy(), dtype=np.int64)
        minutes_all = np.asarray(recorded["minutes"].to_numpy(), dtype=np.int64)

        def from_record(day: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
            rows = np.flatnonzero(day_of == day)
            return person_all[rows], venue_all[rows], minute[rows], minutes_all[rows]

        return from_record
    venues = _Venues(city)
    blocked_on = _blocked_by_day(outbreak, city.n_people, days)

    def regenerate(day: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        date = start_date + dt.timedelta(days=day)
        person, venue, slot, minutes = venues.visits(seed, day, date.weekday() >= 5, with_minutes=True)
        keep = ~blocked_on(day)[person]
        person, venue, slot, minutes = person[keep], venue[keep], slot[keep], minutes[keep]
        return person, venue, places.visit_start_minute(person, venue, slot, day), minutes

    return regenerate


def checkins(
    city: City,
    *,
    days: int = 14,
    start_date: dt.date = dt.date(2021, 10, 17),
    seed: int = 0,
    outbreak: OutbreakResult | None = None,
) -> pa.Table:
    """Venue-code check-ins (场所码): person, phone, venue, check-in time (UTC), minutes stayed."""
    if outbreak is not None:
        start_date, seed = outbreak.config.start_date, outbreak.config.seed
    source = _visits_source(city, outbreak, seed, start_date, days)
    parts: list[pa.Table] = []
    for day in range(days):
        date = start_date + dt.timedelta(days=day)
        person, venue, start_minute, minutes = source(day)
        utc = np.datetime64(date, "D").astype("datetime64[us]") - UTC_OFFSET + start_minute.astype("timedelta64[m]")
        parts.append(
            pa.table(
                {
                    "person_id": _arrow.ints(person),
                    "phone": pa.array(city.phones[person], pa.int64()),
                    "venue_id": _arrow.ints(venue),
                    "checkin_time": pa.array(utc, pa.timestamp("us", tz="UTC")),
                    "minutes": pa.array(minutes.astype(np.int32), pa.int32()),
                }
            )
        )
    return pa.concat_tables(parts).sort_by([("checkin_time", "ascending"), ("person_id", "ascending")])


ORIGIN_NAMES = {"620100": "甘肃省兰州市", "150600": "内蒙古自治区鄂尔多斯市", "610100": "陕西省西安市"}


def police_arrivals(
    city: City,
    outbreak: OutbreakResult,
    *,
    duplicate_share: float = 0.08,
    missing_id_share: float = 0.04,
    mistyped_id_share: float = 0.03,
    stale_phone_share: float = 0.06,
    visitor_share: float = 0.1,
    coverage: float = 0.9,
) -> tuple[pa.Table, pa.Table]:
    """The arrivals list as police big data delivers it, and its truth (record → person) for validation.

    Dirt: rows duplicated by a second source with a shifted time; ID numbers missing or with one digit
    mistyped (the check character then fails, as in real lists); stale phone numbers (someone's previous
    number); visitors who are not residents; ``1 - coverage`` of the real arrivals are missed.
    """
    rng = stream(outbreak.config.seed, "police_arrivals")
    truth = outbreak.arrivals
    person = np.asarray(truth["person_id"].to_numpy(), dtype=np.int64)
    arrival = truth["arrival_time"]
    seen = rng.random(int(person.shape[0])) < coverage
    person = person[seen]
    times = np.asarray(arrival.to_numpy(zero_copy_only=False)[seen], dtype="datetime64[us]")
    people = city.people
    names = people["name"].take(pa.array(person, pa.int64())).to_pylist()
    ids: list[str] = [str(x) for x in people["id_number"].take(pa.array(person, pa.int64())).to_pylist()]
    phones = [str(p) for p in city.phones[person]]
    sources = ["railway", "highway_checkpoint", "telecom", "civil_aviation"]
    source = [sources[i] for i in rng.choice(4, int(person.shape[0]), p=[0.45, 0.3, 0.2, 0.05]).tolist()]
    person_ids: list[int | None] = person.tolist()
    # Visitors: non-residents from the origin, with valid IDs of their own region.
    visitors = int(person.shape[0] * visitor_share)
    if visitors:
        region = np.full(visitors, int(outbreak.config.arrival_origin), dtype=np.int64)
        birth = rng.integers(
            np.datetime64("1955-01-01", "D").astype(np.int64),
            np.datetime64("2003-01-01", "D").astype(np.int64),
            visitors,
        )
        births = birth.astype("datetime64[D]")
        years = births.astype("datetime64[Y]").astype(np.int64) + 1970
        months = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day_of_month = (births - births.astype("datetime64[M]")).astype(np.int64) + 1
        male = rng.random(visitors) < 0.5
        sequence = identity.sequence_numbers(region, birth, male, rng)
        visitor_ids = identity.resident_ids(region, years * 10_000 + months * 100 + day_of_month, sequence)
        ids += [str(x) for x in visitor_ids.to_pylist()]
        surnames = ["王", "李", "张", "刘", "马", "杨", "赵"]
        given = ["建国", "秀兰", "志强", "海燕", "文博", "丽娟", "明"]
        names += [
            surnames[i] + given[j]
            for i, j in zip(rng.integers(0, 7, visitors), rng.integers(0, 7, visitors), strict=True)
        ]
        phones += [str(x) for x in identity.unique_mobiles(visitors, rng)]
        times = np.concatenate(
            [
                times,
                times[rng.integers(0, times.shape[0], visitors)]
                if times.shape[0]
                else np.zeros(visitors, dtype="datetime64[us]"),
            ]
        )
        source += [sources[i] for i in rng.integers(0, 4, visitors)]
        person_ids += [None] * visitors
    count = len(ids)
    # Dirt on the ID numbers.
    u = rng.random(count)
    dirty_ids: list[str | None] = []
    for i, number in enumerate(ids):
        if u[i] < missing_id_share:
            dirty_ids.append(None)
        elif u[i] < missing_id_share + mistyped_id_share:
            pos = int(rng.integers(6, 17))
            digit = str((int(number[pos]) + int(rng.integers(1, 10))) % 10)
            dirty_ids.append(number[:pos] + digit + number[pos + 1 :])
        else:
            dirty_ids.append(number)
    stale = rng.random(count) < stale_phone_share
    stale_numbers = identity.unique_mobiles(int(stale.sum()), rng)
    for j, k in enumerate(np.flatnonzero(stale).tolist()):
        phones[k] = str(stale_numbers[j])
    records = pa.table(
        {
            "name": pa.array(names, pa.string()),
            "id_number": pa.array(dirty_ids, pa.string()),
            "phone": pa.array(phones, pa.string()),
            "origin_code": pa.array([outbreak.config.arrival_origin] * count, pa.string()),
            "origin_name": pa.array([ORIGIN_NAMES.get(outbreak.config.arrival_origin, "")] * count, pa.string()),
            "arrival_time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "source": pa.array(source, pa.string()),
            "person_id": pa.array(person_ids, pa.int64()),
        }
    )
    # Duplicates: the same trip seen again by another source, minutes to hours later.
    dup = np.flatnonzero(rng.random(count) < duplicate_share)
    copies = records.take(pa.array(dup, pa.int64()))
    shift = rng.integers(5, 240, int(dup.shape[0])).astype("timedelta64[m]").astype("timedelta64[us]")
    shifted = np.asarray(copies["arrival_time"].to_numpy(zero_copy_only=False), dtype="datetime64[us]") + shift
    copies = copies.set_column(
        copies.schema.get_field_index("arrival_time"), "arrival_time", pa.array(shifted, pa.timestamp("us", tz="UTC"))
    )
    copies = copies.set_column(
        copies.schema.get_field_index("source"),
        "source",
        pa.array([sources[i] for i in rng.integers(0, 4, int(dup.shape[0]))], pa.string()),
    )
    combined = pa.concat_tables([records, copies])
    order = rng.permutation(combined.num_rows)
    combined = combined.take(pa.array(order, pa.int64()))
    record_id = pa.array(np.arange(combined.num_rows), pa.int64())
    delivered = combined.drop_columns(["person_id"]).add_column(0, "record_id", record_id)
    truth_table = pa.table({"record_id": record_id, "person_id": combined["person_id"]})
    return delivered, truth_table


def self_reports(city: City, outbreak: OutbreakResult, *, share: float = 0.6, typo_share: float = 0.01) -> pa.Table:
    """Community self-reports (主动报备): a share of the real arrivals, by community, with their own dirt."""
    rng = stream(outbreak.config.seed, "self_reports")
    truth = outbreak.arrivals
    person = np.asarray(truth["person_id"].to_numpy(), dtype=np.int64)
    reports = rng.random(int(person.shape[0])) < share
    person = person[reports]
    arrival = np.asarray(truth["arrival_time"].to_numpy(zero_copy_only=False)[reports], dtype="datetime64[us]")
    local_date = (arrival + UTC_OFFSET).astype("datetime64[D]")
    off_by_one = rng.random(int(person.shape[0])) < 0.1  # reported the next day's date
    local_date = local_date + off_by_one.astype("timedelta64[D]")
    ids: list[str] = [str(x) for x in city.people["id_number"].take(pa.array(person, pa.int64())).to_pylist()]
    u = rng.random(int(person.shape[0]))
    for i in np.flatnonzero(u < typo_share):
        number = ids[i]
        pos = int(rng.integers(6, 17))
        ids[i] = number[:pos] + str((int(number[pos]) + 1) % 10) + number[pos + 1 :]
    return pa.table(
        {
            "report_id": pa.array(np.arange(person.shape[0]), pa.int64()),
            "name": city.people["name"].take(pa.array(person, pa.int64())),
            "id_number": pa.array(ids, pa.string()),
            "phone": pc.cast(pa.array(city.phones[person], pa.int64()), pa.string()),
            "community_code": city.people["community_code"].take(pa.array(person, pa.int64())),
            "origin_name": pa.array([ORIGIN_NAMES.get(outbreak.config.arrival_origin, "外地")] * person.shape[0]),
            "arrival_date": pa.array(local_date, pa.date32()),
            "truth_person_id": pa.array(person, pa.int64()),  # validation only: not in a real self-report
        }
    )
