"""The demo's quarantine: a few ready sites, and the loop's people in centralized quarantine placed into rooms."""

from __future__ import annotations

from fangkong.command.loader import load_quarantine_sites, simulate_and_load
from fangkong.command.models import SimulationRun
from fangkong.quarantine.models import Placement, ScheduledTest, Site
from fangkong.screening.models import OPEN_STATES, PoolEntry

SMALL = {"people": 10_000, "days": 21, "seed": 3}


def test_the_demo_places_the_loops_contacts_into_site_rooms(db, tmp_path):
    simulate_and_load(**SMALL, scenario="full_ed8", out_dir=tmp_path / "sim", load=True)
    summary = SimulationRun.objects.get().summary["quarantine"]
    assert summary["sites"] == Site.objects.count() >= 1
    placed = Placement.objects.filter(status="placed")
    assert summary["placed"] == placed.count() > 0 and summary["waitlisted"] == 0
    assert ScheduledTest.objects.filter(placement__in=placed).exists()
    entries = PoolEntry.objects.filter(person__in=placed.filter(kind="central").values("person"), state__in=OPEN_STATES)
    assert set(entries.values_list("state", flat=True)) == {"quarantined_central"}
    assert load_quarantine_sites() == {"sites": 0, "placed": 0, "waitlisted": 0}  # safe to run twice
