"""Capacity planner for a mass-testing round: how long until every result is back, and which stage limits it.

Pure arithmetic (no Django, no database), so the page, the round page and the tests share one model.

The model is a three-stage line working on tubes, each stage at a constant rate:

- **sampling**: `sampling_points × people_per_point_per_hour` people an hour while the points are open
  (`sampling_hours_per_day`; closed hours are skipped day by day), `pool_size` people to a tube;
- **transport**: `runs_per_day` runs at even intervals from hour 0, each taking up to `tubes_per_run` tubes that
  are sampled by then, arriving `transport_hours` later;
- **lab**: `lab_tubes_per_day` tubes a day, spread evenly (labs run around the clock during a round), each
  result `lab_run_hours` after the tube starts (extraction + PCR).

The round ends when the last result is out:

    sampling_end   = wall-clock hours to sample everyone (opening hours applied)
    transport_end  = the first run at or after max(sampling_end, tubes / transport rate)  (the last departure)
    results_end    = max(transport_end + transport_hours, transport_hours + tubes / lab rate) + lab_run_hours

The bottleneck is the stage with the longest time on its own (people or tubes ÷ its rate, opening hours
applied for sampling); the others wait for it. For a target, `needed_*` say what that stage alone would need
to finish in time with the fixed delays (transport, lab run, the wait for a run) taken off, everything else
unchanged: the figure to ask the HQ for. This is a fluid model: tube closing, queueing jitter and breaks are
left out, so treat the answer as the best case with the given capacities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

POOL_SIZES = (1, 5, 10, 20)


class Stage(StrEnum):
    SAMPLING = "sampling"
    TRANSPORT = "transport"
    LAB = "lab"


class PlannerError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PlannerInput:
    population: int
    sampling_points: int
    people_per_point_per_hour: int
    pool_size: int
    runs_per_day: int
    tubes_per_run: int
    lab_tubes_per_day: int
    sampling_hours_per_day: int = 24
    transport_hours: float = 1.0
    lab_run_hours: float = 4.0
    target_hours: float = 24.0


@dataclass(frozen=True)
class StageFigure:
    stage: Stage
    capacity_per_day: int  # people a day for sampling, tubes a day for transport and the lab
    hours_alone: float  # the time this stage needs for the whole round on its own
    needed: int  # points / runs a day / tubes a day to meet the target (0: cannot, the fixed delays exceed it)


@dataclass(frozen=True)
class PlannerResult:
    tubes: int
    sampling_end_hours: float
    transport_end_hours: float
    results_end_hours: float
    bottleneck: Stage
    stages: tuple[StageFigure, ...]
    target_hours: float

    @property
    def meets_target(self) -> bool:
        return self.results_end_hours <= self.target_hours + 1e-9

    @property
    def days(self) -> float:
        return self.results_end_hours / 24

    def stage(self, stage: Stage) -> StageFigure:
        return next(figure for figure in self.stages if figure.stage is stage)


def validate(data: PlannerInput) -> None:
    positive = {
        "population": data.population,
        "sampling_points": data.sampling_points,
        "people_per_point_per_hour": data.people_per_point_per_hour,
        "runs_per_day": data.runs_per_day,
        "tubes_per_run": data.tubes_per_run,
        "lab_tubes_per_day": data.lab_tubes_per_day,
        "target_hours": data.target_hours,
    }
    for field, value in positive.items():
        if value <= 0:
            raise PlannerError(field, "must be more than 0")
    if data.pool_size not in POOL_SIZES:
        raise PlannerError("pool_size", f"must be one of {', '.join(map(str, POOL_SIZES))}")
    if not 1 <= data.sampling_hours_per_day <= 24:
        raise PlannerError("sampling_hours_per_day", "must be between 1 and 24")
    if data.runs_per_day > 24 * 60:
        raise PlannerError("runs_per_day", "at most one run a minute")
    for field, hours in (("transport_hours", data.transport_hours), ("lab_run_hours", data.lab_run_hours)):
        if not 0 <= hours <= 24 * 7:
            raise PlannerError(field, "must be between 0 and 168 hours")


def wall_clock_hours(open_hours: float, *, hours_per_day: int) -> float:
    """Hours from the start until `open_hours` of work are done when work happens `hours_per_day` a day (from
    the start of each day)."""
    if open_hours <= 0:
        return 0.0
    full_days, rest = divmod(open_hours, hours_per_day)
    if rest == 0:
        return (full_days - 1) * 24 + hours_per_day
    return full_days * 24 + rest


def _run_at_or_after(hours: float, *, runs_per_day: int) -> float:
    interval = 24 / runs_per_day
    return math.ceil(hours / interval - 1e-9) * interval


def _needed_open_hours(available_wall_hours: float, *, hours_per_day: int) -> float:
    """The most open hours that fit in `available_wall_hours` of wall clock (inverse of wall_clock_hours)."""
    if available_wall_hours <= 0:
        return 0.0
    full_days, rest = divmod(available_wall_hours, 24)
    return full_days * hours_per_day + min(rest, hours_per_day)


def plan_round(data: PlannerInput) -> PlannerResult:
    validate(data)
    tubes = math.ceil(data.population / data.pool_size)
    people_per_hour = data.sampling_points * data.people_per_point_per_hour
    sampling_open_hours = data.population / people_per_hour
    sampling_end = wall_clock_hours(sampling_open_hours, hours_per_day=data.sampling_hours_per_day)
    transport_rate = data.runs_per_day * data.tubes_per_run / 24  # tubes an hour
    lab_rate = data.lab_tubes_per_day / 24
    transport_alone = tubes / transport_rate
    lab_alone = tubes / lab_rate
    transport_end = _run_at_or_after(max(sampling_end, transport_alone), runs_per_day=data.runs_per_day)
    results_end = max(transport_end + data.transport_hours, data.transport_hours + lab_alone) + data.lab_run_hours

    # What each stage alone would need to be done in time, with the fixed delays taken off the target.
    run_wait = 24 / data.runs_per_day
    fixed = data.transport_hours + data.lab_run_hours
    sampling_window = data.target_hours - fixed - run_wait
    open_hours = _needed_open_hours(sampling_window, hours_per_day=data.sampling_hours_per_day)
    needed_points = math.ceil(data.population / (open_hours * data.people_per_point_per_hour)) if open_hours > 0 else 0
    transport_window = data.target_hours - fixed
    needed_runs = math.ceil(tubes / data.tubes_per_run / (transport_window / 24)) if transport_window > 0 else 0
    lab_window = data.target_hours - fixed
    needed_lab = math.ceil(tubes / (lab_window / 24)) if lab_window > 0 else 0

    stages = (
        StageFigure(Stage.SAMPLING, people_per_hour * data.sampling_hours_per_day, sampling_end, needed_points),
        StageFigure(Stage.TRANSPORT, data.runs_per_day * data.tubes_per_run, transport_alone, needed_runs),
        StageFigure(Stage.LAB, data.lab_tubes_per_day, lab_alone, needed_lab),
    )
    bottleneck = max(stages, key=lambda figure: figure.hours_alone).stage
    return PlannerResult(
        tubes=tubes,
        sampling_end_hours=sampling_end,
        transport_end_hours=transport_end,
        results_end_hours=results_end,
        bottleneck=bottleneck,
        stages=stages,
        target_hours=data.target_hours,
    )


def expected_sampled(data: PlannerInput, *, hours: int) -> list[int]:
    """People sampled by the end of each hour 1..hours from the start, as planned (for the round page's chart)."""
    validate(data)
    per_hour = data.sampling_points * data.people_per_point_per_hour
    done = 0
    series = []
    for hour in range(hours):
        if hour % 24 < data.sampling_hours_per_day:
            done = min(data.population, done + per_hour)
        series.append(done)
    return series
