from __future__ import annotations

import pytest
from django.core.management import call_command

from fangkong.command.loader import simulate_and_load
from fangkong.command.models import SimulationRun
from fangkong.core.identity import validate_resident_id
from fangkong.core.models import AuditEntry, Division, Job, User
from fangkong.core.roles import Role
from fangkong.people.models import Person

SMALL = {"people": 10_000, "days": 21, "seed": 3}


@pytest.fixture
def loaded(db, tmp_path):
    return simulate_and_load(**SMALL, scenario="full_ed8", out_dir=tmp_path / "sim", load=True)


def test_simulate_load_fills_registry_divisions_boundaries_and_the_outbreak(loaded, tmp_path):
    assert Person.objects.count() == 10_000 == loaded.people_created
    city = Division.objects.get(level="city")
    counties = Division.objects.filter(parent=city)
    assert counties.exists() and all(c.boundary and c.boundary["type"] == "Polygon" for c in counties)
    assert all(
        validate_resident_id(n).number == n
        for n in Person.objects.values_list("primary_document_number", flat=True)[:500]
    )
    run = SimulationRun.objects.get()
    assert len(run.daily) == 21 and run.summary["cases"] >= 0
    assert (tmp_path / "sim" / "people.parquet").exists() and (tmp_path / "sim" / "cases.parquet").exists()
    assert AuditEntry.objects.filter(action="people.person.bulk_load").count() == 1


def test_loading_the_same_city_twice_adds_nobody(loaded, tmp_path):
    again = simulate_and_load(**SMALL, scenario="full_ed8", out_dir=tmp_path / "sim2", load=True)
    assert again.people_created == 0 and Person.objects.count() == 10_000


def test_dashboard_shows_the_outbreak_and_a_scoped_map(client, loaded):
    city = Division.objects.get(level="city")
    hq = User.objects.create_user(username="hq", role=Role.CITY_HQ, division=city)
    client.force_login(hq)
    page = client.get("/").content.decode()
    cases = sum(row["new_cases"] for row in SimulationRun.objects.get().daily)
    assert f'data-testid="count-cases">{cases}<' in page
    features = client.get("/command/map.geojson").json()["features"]
    assert {f["properties"]["code"] for f in features} == set(
        Division.objects.filter(parent=city).values_list("code", flat=True)
    )

    county = Division.objects.filter(level="county").first()
    officer = User.objects.create_user(username="county", role=Role.COUNTY_HQ, division=county)
    client.force_login(officer)
    streets = {f["properties"]["code"] for f in client.get("/command/map.geojson").json()["features"]}
    assert streets == set(Division.objects.filter(parent=county).values_list("code", flat=True))
    assert "count-cases" not in client.get("/").content.decode()  # the city-wide outbreak is the city's view


def test_a_plan_runs_as_a_job_and_its_page_shows_bands(client, tree, make_user, django_capture_on_commit_callbacks):
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    form = {"scenarios": ["detection_only", "tracing_with_secondary"], "seeds": 2, "people": 10_000, "days": 20}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/command/plan/", form)
    job = Job.objects.get(kind="command.plan_scenarios")
    assert response.status_code == 302 and job.status == "succeeded", job.error
    assert set(job.result["bands"]) == {"detection_only", "tracing_with_secondary"}
    assert len(job.result["bands"]["detection_only"]["beds_used"]["p50"]) == 20
    page = client.get(f"/command/plan/{job.pk}/").content.decode()
    assert 'data-testid="plan-summary"' in page and "plan-data" in page


def test_bad_plans_are_refused_with_the_field(client, tree, make_user):
    client.force_login(make_user(Role.HEALTH_DEPARTMENT, "city"))
    response = client.post("/command/plan/", {"scenarios": ["detection_only"], "seeds": 0, "people": 500, "days": 20})
    assert response.status_code == 400 and Job.objects.count() == 0
    supervisor = make_user(Role.SUPERVISOR, "city")
    client.force_login(supervisor)
    refused = client.post("/command/plan/", {"scenarios": ["detection_only"], "seeds": 1, "people": 10_000, "days": 20})
    assert refused.status_code == 403 and Job.objects.count() == 0


def test_plan_cli_writes_a_png(tmp_path, capsys, db):
    target = tmp_path / "plan.png"
    call_command(
        "plan",
        "--scenarios",
        "detection_only",
        "--seeds",
        "1",
        "--people",
        "10000",
        "--days",
        "14",
        "--png",
        str(target),
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "detection_only" in capsys.readouterr().out
