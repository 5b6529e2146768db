"""The demo's venues: the simulated city's venues get venue codes and the outbreak's last two weeks of visits
become check-ins (shifted so the last simulated day is today); loading again adds nothing; a loaded case's
venue co-visitors are suggested."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fangkong.command.loader import load_city, load_venue_check_ins, simulate_and_load
from fangkong.command.models import SimulationRun
from fangkong.tracing.models import Case, Contact, Setting
from fangkong.tracing.services import suggest_contacts
from fangkong.venues.models import CheckIn, Venue

SMALL = {"people": 10_000, "days": 21, "seed": 3}


@pytest.mark.slow
def test_the_demo_loads_venues_and_check_ins_and_cases_get_venue_suggestions(db, tmp_path):
    simulate_and_load(**SMALL, scenario="full_ed8", out_dir=tmp_path / "sim", load=True)
    summary = SimulationRun.objects.get().summary["venues"]
    assert summary["venues"] == Venue.objects.count() > 0
    assert summary["check_ins"] == CheckIn.objects.count() > 1_000
    assert not CheckIn.objects.filter(checked_in_at__gt=timezone.now()).exists()
    assert Venue.objects.filter(code__startswith="V").count() == Venue.objects.count()
    cases = list(Case.objects.select_related("person")[:40])
    for case in cases:
        suggest_contacts(case, by=None)
    assert Contact.objects.filter(setting=Setting.VENUE).exists()


@pytest.mark.slow
def test_loading_the_check_ins_again_adds_nothing(db):
    from fangkong.simulate import CityConfig, build_city
    from fangkong.simulate.outbreak import OutbreakConfig, run_outbreak

    city = build_city(CityConfig(people=5_000, seed=4))
    result = run_outbreak(city, OutbreakConfig(days=10, seed=4))
    load_city(city, reference="seed=4")
    now = timezone.now()
    first = load_venue_check_ins(city, result, now=now, days=5)
    before = (Venue.objects.count(), CheckIn.objects.count())
    again = load_venue_check_ins(city, result, now=now, days=5)
    assert first["check_ins"] == before[1] > 0
    assert again["check_ins"] == 0 and (Venue.objects.count(), CheckIn.objects.count()) == before
