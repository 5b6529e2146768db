"""`fangkong simulate --people 100000 --days 60 --load`: generate a city and an outbreak, write the data sets
as Parquet, and (with --load) fill the platform."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.command.loader import simulate_and_load
from fangkong.core.progress import ProgressBar


class Command(BaseCommand):
    help = "Generate a synthetic city and a Delta outbreak; --load fills the platform."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2021)
        parser.add_argument("--scenario", default="full_ed8", help="a named scenario (see `fangkong plan --list`)")
        parser.add_argument("--out", type=Path, default=None, help="where to write the Parquet data sets")
        parser.add_argument("--load", action="store_true", help="load the city and the outbreak into the platform")

    def handle(
        self,
        *args: object,
        people: int,
        days: int,
        seed: int,
        scenario: str,
        out: Path | None,
        load: bool,
        **options: object,
    ) -> None:
        from fangkong.simulate.scenarios import NAMED_SCENARIOS

        if scenario not in NAMED_SCENARIOS:
            raise CommandError(f"unknown scenario {scenario!r}; choose from {', '.join(NAMED_SCENARIOS)}")
        if not 10_000 <= people <= 10_000_000:
            raise CommandError("--people must be between 10,000 and 10,000,000")
        out_dir = out or Path(settings.VAR_DIR) / "simulations" / f"seed{seed}-{people}"
        started = time.monotonic()
        bar = ProgressBar(self.stdout, label="outbreak days")
        loaded = simulate_and_load(
            people=people, days=days, seed=seed, scenario=scenario, out_dir=out_dir, load=load, progress=bar.update
        )
        bar.finish()
        self.stdout.write(f"data sets written to {out_dir}")
        if loaded is not None:
            self.stdout.write(
                f"loaded {loaded.people_created} people and {loaded.divisions_created} divisions; "
                f"outbreak: {loaded.run.summary}"
            )
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")
