"""The capacity planner's arithmetic (pure), its page, and the plan beside a round's progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.models import Organization, OrganizationKind
from fangkong.core.policy import active_edition
from fangkong.core.roles import Role
from fangkong.testing.capacity.planner import (
    PlannerError,
    PlannerInput,
    Stage,
    expected_sampled,
    plan_round,
    wall_clock_hours,
)
from fangkong.testing.capacity.selectors import round_plan
from fangkong.testing.models import LabCapacity, SamplingSite
from fangkong.testing.tests.certificate_rows import mass_round, sample, site

CITY = PlannerInput(
    population=1_000_000,
    sampling_points=500,
    people_per_point_per_hour=100,  # 50,000 people an hour: 20 hours of sampling
    pool_size=10,  # 100,000 tubes
    runs_per_day=6,  # a run every 4 hours
    tubes_per_run=5_000,  # 30,000 tubes a day: 80 hours on its own
    lab_tubes_per_day=200_000,  # 12 hours on its own
    transport_hours=1,
    lab_run_hours=4,
    target_hours=24,
)


def with_(**changes: object) -> PlannerInput:
    return PlannerInput(**{**CITY.__dict__, **changes})


def test_transport_as_the_bottleneck():
    result = plan_round(CITY)
    assert result.tubes == 100_000
    assert result.sampling_end_hours == 20
    assert result.stage(Stage.TRANSPORT).hours_alone == 80 and result.stage(Stage.LAB).hours_alone == 12
    assert result.bottleneck is Stage.TRANSPORT
    assert result.transport_end_hours == 80  # the run at hour 80 takes the last tubes
    assert result.results_end_hours == 80 + 1 + 4
    assert not result.meets_target
    # To finish in 24 h: 19 h for transport after the fixed 5 h → 100,000 / 5,000 tubes a run / (19/24) days.
    assert result.stage(Stage.TRANSPORT).needed == 26


def test_the_lab_as_the_bottleneck():
    result = plan_round(with_(runs_per_day=6, tubes_per_run=50_000, lab_tubes_per_day=50_000))
    assert result.bottleneck is Stage.LAB
    assert result.stage(Stage.LAB).hours_alone == 48
    assert result.transport_end_hours == 20  # the run at hour 20, when sampling ends
    assert result.results_end_hours == 1 + 48 + 4  # the lab's queue, not the last delivery, decides
    assert result.stage(Stage.LAB).needed == 126_316  # 100,000 tubes in 19 hours


def test_sampling_as_the_bottleneck_with_opening_hours():
    result = plan_round(with_(sampling_points=100, sampling_hours_per_day=16, tubes_per_run=50_000))
    # 1,000,000 / 10,000 an hour = 100 open hours = 6 days of 16 hours (96) and 4 hours on day 7.
    assert result.sampling_end_hours == 6 * 24 + 4
    assert result.bottleneck is Stage.SAMPLING
    assert result.transport_end_hours == 148  # 148 is a run time (every 4 h)
    assert result.results_end_hours == 148 + 1 + 4
    # 24 h target less 1 h road, 4 h lab and up to 4 h waiting for a run: 15 h of sampling → 16 h a day allows 15.
    assert result.stage(Stage.SAMPLING).needed == 667


def test_a_balanced_plan_meets_its_target():
    result = plan_round(with_(runs_per_day=24, tubes_per_run=10_000, target_hours=25))
    assert result.bottleneck is Stage.SAMPLING and result.meets_target
    assert result.results_end_hours == 20 + 1 + 4  # sampling, the road, the lab run


def test_a_target_shorter_than_the_fixed_delays_cannot_be_met():
    result = plan_round(with_(target_hours=4))
    assert all(figure.needed == 0 for figure in result.stages)


def test_wall_clock_hours_skip_closed_hours():
    assert wall_clock_hours(16, hours_per_day=16) == 16
    assert wall_clock_hours(17, hours_per_day=16) == 25
    assert wall_clock_hours(32, hours_per_day=16) == 40
    assert wall_clock_hours(5, hours_per_day=24) == 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"population": 0}, "population"),
        ({"pool_size": 7}, "pool_size"),
        ({"sampling_hours_per_day": 25}, "sampling_hours_per_day"),
        ({"lab_tubes_per_day": -1}, "lab_tubes_per_day"),
        ({"transport_hours": -1}, "transport_hours"),
    ],
)
def test_bad_figures_name_their_field(change, field):
    with pytest.raises(PlannerError) as caught:
        plan_round(with_(**change))
    assert caught.value.field == field


@given(
    population=st.integers(1, 10**7),
    points=st.integers(1, 5_000),
    per_hour=st.integers(1, 500),
    pool=st.sampled_from([1, 5, 10, 20]),
    runs=st.integers(1, 48),
    per_run=st.integers(1, 100_000),
    lab=st.integers(1, 2_000_000),
    open_hours=st.integers(1, 24),
)
def test_the_bottleneck_is_the_slowest_stage_and_nothing_ends_before_it(
    population, points, per_hour, pool, runs, per_run, lab, open_hours
):
    data = PlannerInput(population, points, per_hour, pool, runs, per_run, lab, open_hours, 1.0, 4.0, 24.0)
    result = plan_round(data)
    slowest = max(result.stages, key=lambda figure: figure.hours_alone)
    assert result.bottleneck is slowest.stage
    assert result.results_end_hours >= slowest.hours_alone + 4.0
    assert result.results_end_hours >= result.sampling_end_hours + 1.0 + 4.0
    more = plan_round(PlannerInput(population, points * 2, per_hour, pool, runs * 2, per_run, lab * 2, open_hours))
    assert more.results_end_hours <= result.results_end_hours + 1e-9  # more capacity never takes longer


def test_expected_sampled_follows_opening_hours():
    series = expected_sampled(
        with_(population=250, sampling_points=1, people_per_point_per_hour=100, sampling_hours_per_day=2), hours=26
    )
    assert series[:3] == [100, 200, 200] and series[23] == 200 and series[24] == 250


def test_the_planner_page_prefills_from_the_jurisdiction_and_answers(client, make_user, tree, register):
    register("a", name="王一", phone="13811110001")
    register("a", name="王二", phone="13811110002")
    SamplingSite.objects.create(division=tree["a"], name="东广场", hourly_capacity=150)
    lab = Organization.objects.create(kind=OrganizationKind.LAB, division=tree["city"], name="市检测中心")
    LabCapacity.objects.create(lab=lab, tubes_per_day=40_000)
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    page = client.get("/testing/planner/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["population"] == 2 and form.initial["sampling_points"] == 1
    assert form.initial["people_per_point_per_hour"] == 150 and form.initial["lab_tubes_per_day"] == 40_000
    testing_rules = active_edition(tree["a"].path).testing
    assert form.initial["pool_size"] == testing_rules.default_pool_size
    assert form.initial["target_hours"] == testing_rules.city_round_under_5m_hours
    query = {name: value for name, value in CITY.__dict__.items()}
    answer = client.get("/testing/planner/", query).content.decode()
    assert 'data-bottleneck="transport"' in answer and 'data-meets-target="0"' in answer
    bad = client.get("/testing/planner/", {**query, "pool_size": 7})
    assert bad.status_code == 400 and 'data-testid="error-pool_size"' in bad.content.decode()


def test_roles_without_testing_view_cannot_plan(client, make_user):
    client.force_login(make_user(Role.CHECKPOINT_STAFF, "a"))
    assert client.get("/testing/planner/").status_code == 403


def test_the_plan_beside_a_round_counts_sampled_people_hour_by_hour(tree, register):
    people = [register("a", name=f"李{i}", phone=f"1381111000{i}") for i in range(3)]
    SamplingSite.objects.filter(pk=site(tree).pk).update(hourly_capacity=2)
    lab = Organization.objects.create(kind=OrganizationKind.LAB, division=tree["city"], name="市检测中心")
    LabCapacity.objects.create(lab=lab, tubes_per_day=1000)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    test_round = mass_round(tree, starts_at=start)
    sample(people[0], tree=tree, sampled_at=start + timedelta(minutes=10), round_=test_round, result=None)
    sample(people[1], tree=tree, sampled_at=start + timedelta(minutes=70), round_=test_round, result=None)
    plan = round_plan(test_round, now=start + timedelta(hours=2, minutes=30))
    assert plan.inputs.population == 3 and plan.inputs.sampling_points == 1 and plan.inputs.lab_tubes_per_day == 1000
    assert plan.result is not None and plan.result.sampling_end_hours == 1.5  # 3 people at 2 an hour
    assert plan.actual[:3] == (1, 2, 2) and plan.sampled == 2
    assert plan.planned[:2] == (2, 3)
    assert ("pool_size", 10) in plan.form_query


def test_a_round_without_sites_or_labs_says_what_is_missing(tree, register):
    register("b", name="赵一", phone="13811110009")
    test_round = mass_round(tree, starts_at=timezone.now())
    plan = round_plan(test_round)
    assert plan.result is None and set(plan.missing) == {"sampling_points", "lab_tubes_per_day"}


def test_the_round_coverage_page_shows_the_plan_beside_progress(client, tree, register, make_user):
    register("a", name="钱一", phone="13811110011")
    test_round = mass_round(tree, starts_at=timezone.now() - timedelta(hours=2))
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    page = client.get(f"/testing/rounds/{test_round.pk}/coverage/").content.decode()
    assert 'data-testid="round-plan"' in page and 'id="round-plan-data"' in page
    assert 'data-testid="round-plan-missing"' in page  # no sites or lab capacity recorded yet
