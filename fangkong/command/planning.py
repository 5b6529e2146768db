"""Scenario planning: run named scenarios over several seeds on a synthetic city of the chosen size, as a
background job, and keep the bands (5 / 50 / 95 %) the planning page draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.core.jobs import JobContext, job_handler, start_job
from fangkong.core.models import Job, User
from fangkong.core.roles import Capability

PLAN_JOB = "command.plan_scenarios"
MAX_AGENT_DAYS = 2_000_000_000  # people × days × runs: keeps one plan within minutes on two cores


@dataclass(frozen=True)
class PlanRequest:
    scenarios: list[str]
    seeds: int
    people: int
    days: int


def validate_plan(request: PlanRequest) -> PlanRequest:
    from fangkong.simulate.scenarios import NAMED_SCENARIOS

    unknown = [name for name in request.scenarios if name not in NAMED_SCENARIOS]
    if not request.scenarios or unknown:
        raise DomainError(_("Choose one or more of the named scenarios."), field="scenarios")
    if not 1 <= request.seeds <= 50:
        raise DomainError(_("Seeds must be between 1 and 50."), field="seeds")
    if not 10_000 <= request.people <= 10_000_000:
        raise DomainError(_("Population must be between 10,000 and 10,000,000."), field="people")
    if not 14 <= request.days <= 365:
        raise DomainError(_("Days must be between 14 and 365."), field="days")
    if request.people * request.days * request.seeds * len(request.scenarios) > MAX_AGENT_DAYS:
        raise DomainError(_("This plan is too large to run at once: use fewer seeds, scenarios or people."))
    return request


def start_plan(request: PlanRequest, *, by: User) -> Job:
    if not by.can(Capability.PLANNING_RUN):
        from fangkong.core.errors import PermissionDeniedError

        raise PermissionDeniedError()
    valid = validate_plan(request)
    return start_job(
        PLAN_JOB,
        params={"scenarios": valid.scenarios, "seeds": valid.seeds, "people": valid.people, "days": valid.days},
        by=by,
    )


def run_plan(request: PlanRequest, *, progress: Any = None) -> dict[str, Any]:
    """Run the plan and return JSON-ready results: the summary per scenario and the daily bands."""
    from fangkong.simulate import CityConfig, build_city
    from fangkong.simulate.outbreak import OutbreakConfig
    from fangkong.simulate.scenarios import NAMED_SCENARIOS, run_scenarios

    city = build_city(CityConfig(people=request.people, seed=0))
    summary = run_scenarios(
        city, request.scenarios, seeds=request.seeds, base=OutbreakConfig(days=request.days), progress=progress
    )
    bands: dict[str, dict[str, dict[str, list[float]]]] = {}
    for row in summary.bands.to_pylist():
        series = bands.setdefault(row["scenario"], {}).setdefault(row["series"], {"p05": [], "p50": [], "p95": []})
        for key in ("p05", "p50", "p95"):
            series[key].append(round(float(row[key]), 2))
    return {
        "scenarios": [{"name": name, "title": NAMED_SCENARIOS[name].title} for name in request.scenarios],
        "summary": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
            for row in summary.summary.to_pylist()
        ],
        "bands": bands,
        "days": request.days,
        "people": request.people,
        "seeds": request.seeds,
    }


@job_handler(PLAN_JOB, queue="analytics")
def plan_job(context: JobContext) -> dict[str, Any]:
    """Runs are deterministic per seed, so a plan interrupted by a restart simply runs again."""
    params = context.job.params
    request = PlanRequest(
        scenarios=list(params["scenarios"]), seeds=params["seeds"], people=params["people"], days=params["days"]
    )
    return run_plan(request, progress=lambda done, total: context.progress(done, total))
