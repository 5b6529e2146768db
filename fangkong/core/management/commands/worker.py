"""`fangkong worker`: recover jobs whose worker died, then run django-tasks' database worker."""

import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from fangkong.core.jobs import recover_stale_jobs
from fangkong.core.schedule import start_scheduler


class Command(BaseCommand):
    help = "Run the background worker (re-enqueues interrupted jobs first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="drain the queue and exit")
        parser.add_argument("--queue-name", default="*")
        parser.add_argument("--no-schedule", action="store_true", help="do not run the periodic schedule")

    def handle(self, *args: object, batch: bool, queue_name: str, no_schedule: bool, **options: object) -> None:
        recovered = recover_stale_jobs()
        if recovered:
            self.stdout.write(f"re-enqueued {len(recovered)} interrupted job(s)")
        stop = threading.Event()
        if not batch and not no_schedule:
            start_scheduler(stop)
        worker_args = ["--queue-name", queue_name]
        if batch:
            worker_args.append("--batch")
        try:
            call_command("db_worker", *worker_args)
        finally:
            stop.set()
