"""`fangkong demo`: load a simulated city (once), create one account per role, print the logins, serve."""

import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from fangkong.command.loader import DEMO_PASSWORD, create_demo_accounts, simulate_and_load
from fangkong.command.testing_demo import load_testing_round
from fangkong.core.models import Division, User
from fangkong.core.tokens import issue_token


class Command(BaseCommand):
    help = "Load the demo city and serve the platform on http://127.0.0.1:8000"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2021)
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="load and print the logins, then exit")

    def handle(
        self, *args: object, people: int, days: int, seed: int, addrport: str, no_serve: bool, **options: object
    ) -> None:
        if not Division.objects.exists():
            started = time.monotonic()
            self.stdout.write(f"simulating a city of {people} people and a {days}-day Delta outbreak (seed {seed}) …")
            loaded = simulate_and_load(
                people=people,
                days=days,
                seed=seed,
                scenario="full_ed8",
                out_dir=Path(settings.VAR_DIR) / "simulations" / f"seed{seed}-{people}",
                load=True,
            )
            assert loaded is not None
            self.stdout.write(
                f"loaded {loaded.people_created} people, {loaded.divisions_created} divisions and the outbreak "
                f"({loaded.run.summary}) in {time.monotonic() - started:.1f} s"
            )
        accounts = create_demo_accounts()
        started = time.monotonic()
        testing_round = load_testing_round()
        if testing_round is not None:
            self.stdout.write(
                f"mass-testing round: {testing_round.sampled} sampled in {testing_round.tubes} tubes, "
                f"{testing_round.positive_tubes} positive pool, {testing_round.untested} untested "
                f"({time.monotonic() - started:.1f} s) — /testing/rounds/{testing_round.round_id}/coverage/"
            )
        self.stdout.write("")
        self.stdout.write(f"Fangkong demo — http://{addrport}/  (password for every account: {DEMO_PASSWORD})")
        for account in accounts:
            if account.username == "api_client":
                continue
            self.stdout.write(f"  {account.username:<18} {account.role} · {account.division}")
        self.stdout.write(f"  {'admin':<18} Django 管理后台 / Django admin (/admin/)")
        client = User.objects.get(username="api_client")
        _token, secret = issue_token(client, name=f"demo {timezone.now():%Y-%m-%d %H:%M}", by=None)
        self.stdout.write(f"  API: http://{addrport}/api/docs  —  Authorization: Bearer {secret}")
        self.stdout.write("")
        if no_serve:
            return
        worker = subprocess.Popen([sys.executable, "-m", "fangkong.cli", "worker"])  # noqa: S603
        try:
            call_command("runserver", addrport, "--noreload")
        finally:
            worker.terminate()
