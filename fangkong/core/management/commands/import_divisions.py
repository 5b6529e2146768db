from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.errors import DomainError
from fangkong.core.progress import ProgressBar
from fangkong.core.services import import_divisions, read_table


class Command(BaseCommand):
    help = "Load administrative divisions from a CSV with columns code,name[,lon,lat,population]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: object, path: Path, **options: object) -> None:
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        rows = read_table(path)
        bar = ProgressBar(self.stdout, label="divisions")
        try:
            result = import_divisions(rows, by=None, progress=bar.update)
        except DomainError as error:
            lines = [str(error.message)] + [
                f"  row {d['row']}, {d['field']}: {d['message']}" for d in error.details[:50]
            ]
            raise CommandError("\n".join(lines)) from error
        bar.finish()
        self.stdout.write(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}")
