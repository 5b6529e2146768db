"""Companion screening from the platform: simulated carrier pings in Parquet, a registered case, the engine's
result in the loop (with its evidence) and on the case as suggested contacts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.core.roles import Role
from fangkong.screening.models import PoolEntry, RiskReport
from fangkong.tracing import services
from fangkong.tracing.companions import screen_companions
from fangkong.tracing.models import Contact

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")


def write_pings(directory, rows):
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "phone": pa.array([r[0] for r in rows], pa.int64()),
            "cell": pa.array([r[1] for r in rows], pa.int64()),
            "ts": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, directory / "part-0.parquet")


@pytest.fixture
def pings(settings, tmp_path):
    settings.PINGS_DIR = tmp_path / "pings"
    return settings.PINGS_DIR


def test_companions_enter_the_loop_with_evidence_and_become_suggestions(pings, register, make_user):
    case_person = register("a", name="病例", phone="13800000001")
    neighbour = register("b", name="邻座", phone="13800000002")
    start = dt.datetime(2021, 8, 2, 10, 0, tzinfo=UTC)
    rows = []
    for minute in range(0, 60, 5):  # an hour together in cell 7
        at = start + dt.timedelta(minutes=minute)
        rows += [(13800000001, 7, at), (13800000002, 7, at), (13900000009, 7, at)]
    rows += [(13800000003, 7, start + dt.timedelta(days=1))]  # same cell, another day: not a companion
    write_pings(pings, rows)

    officer = make_user(Role.CITY_HQ, "city")
    case = services.register_case(
        case_person,
        kind="confirmed",
        first_positive_at=dt.datetime(2021, 8, 3, 9, tzinfo=SHANGHAI),
        by=officer,
        reported_at=dt.datetime(2021, 8, 3, 12, tzinfo=SHANGHAI),
    )
    counts = screen_companions([case], by=officer, reference="t1")
    assert counts == {"cases": 1, "companions": 2, "listed": 2}

    entry = PoolEntry.objects.get(person=neighbour)
    assert entry.reasons == ["companion"] and entry.division_id == neighbour.home_division_id
    report = RiskReport.objects.get(entry=entry)
    assert report.data["cells"] == [7] and report.data["minutes"] >= 55
    unknown = PoolEntry.objects.exclude(person__in=[neighbour]).get()
    assert unknown.person.phone == "13900000009" and unknown.division_id == case.division_id  # mobile only
    assert set(Contact.objects.filter(case=case, setting="companion").values_list("status", flat=True)) == {"suggested"}

    assert screen_companions([case], by=officer, reference="t1")["listed"] == 0  # the same run again adds nothing
    assert RiskReport.objects.count() == 2
