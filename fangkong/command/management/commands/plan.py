"""`fangkong plan`: run named scenarios over several seeds; print the summary and write a PNG."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.command.planning import PlanRequest, validate_plan
from fangkong.core.errors import DomainError
from fangkong.core.progress import ProgressBar


class Command(BaseCommand):
    help = "Scenario planning: peak rooms, tests/day, beds and cumulative infections with 5–95 % bands."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scenarios", default="tracing_close_only,tracing_with_secondary")
        parser.add_argument("--seeds", type=int, default=5)
        parser.add_argument("--people", type=int, default=50_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--png", type=Path, default=Path("plan.png"))
        parser.add_argument("--list", action="store_true", help="list the named scenarios and exit")

    def handle(
        self,
        *args: object,
        scenarios: str,
        seeds: int,
        people: int,
        days: int,
        png: Path,
        list: bool,
        **options: object,
    ) -> None:
        from fangkong.simulate import CityConfig, build_city
        from fangkong.simulate.outbreak import OutbreakConfig
        from fangkong.simulate.scenarios import NAMED_SCENARIOS, plot_scenarios, run_scenarios

        if list:
            for name, scenario in NAMED_SCENARIOS.items():
                self.stdout.write(f"{name:<24} {scenario.title}  {scenario.description}")
            return
        try:
            request = validate_plan(
                PlanRequest(
                    scenarios=[s.strip() for s in scenarios.split(",") if s.strip()],
                    seeds=seeds,
                    people=people,
                    days=days,
                )
            )
        except DomainError as error:
            raise CommandError(f"{error.field or 'plan'}: {error.message}") from error
        bar = ProgressBar(self.stdout, label="runs")
        city = build_city(CityConfig(people=request.people, seed=0))
        summary = run_scenarios(
            city, request.scenarios, seeds=request.seeds, base=OutbreakConfig(days=request.days), progress=bar.update
        )
        bar.finish()
        for row in summary.summary.to_pylist():
            self.stdout.write(
                f"{row['scenario']:<24} {row['metric']:<24} median {row['p50']:>10.0f}   "
                f"5–95 %: {row['p05']:.0f} – {row['p95']:.0f}"
            )
        written = plot_scenarios(summary, png)
        self.stdout.write(f"chart written to {written}")
