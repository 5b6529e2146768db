"""`fangkong import-check-ins FILE [--venue CODE] [--map checked_in_at=扫码时间 …] [--division PATH]`: the same
checks and write as the page (all rows checked first, one transaction, rows already on record skipped),
synchronously, with a progress bar — for the big-data team's large files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.errors import DomainError
from fangkong.core.models import Division
from fangkong.core.origin import Origin, origin
from fangkong.core.progress import ProgressBar
from fangkong.venues import importing
from fangkong.venues.selectors import venue_by_code

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import venue check-ins (.xlsx, .xls, .csv in UTF-8 or GBK): venue code, name, ID or mobile, times."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--venue", default="", help="the venue code, when the whole file is for one venue")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=HEADER",
            help=f"column for a field ({', '.join(importing.FIELD_NAMES)}); otherwise matched by header",
        )
        parser.add_argument("--division", default="", help="the importing jurisdiction's path (default: the city)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        division = self._division(options["division"])
        venue = venue_by_code(options["venue"]) if options["venue"] else None
        if options["venue"] and venue is None:
            raise CommandError(f"--venue {options['venue']}: no such venue code")
        explicit = {}
        for item in options["map"]:
            field, sep, header = item.partition("=")
            if not sep or field not in importing.FIELD_NAMES:
                raise CommandError(
                    f"--map {item!r}: write FIELD=HEADER with FIELD one of {', '.join(importing.FIELD_NAMES)}"
                )
            explicit[field] = header
        try:
            with origin(Origin(channel="cli")):
                check_in_import = importing.receive_check_in_path(path, division=division, venue=venue, by=None)
                preview = importing.preview(check_in_import)
                mapping = importing.check_mapping(
                    {**preview.suggested, **explicit}, preview.headers, has_venue=venue is not None
                )
                self.stdout.write("mapping: " + ", ".join(f"{f}={h}" for f, h in mapping.items()))
                bar = ProgressBar(self.stdout, label=path.name)
                result = importing.import_check_ins(check_in_import, mapping=mapping, by=None, progress=bar.update)
                bar.finish()
        except DomainError as error:
            lines = [str(error.message)]
            lines += [
                f"  row {d['row']}, {d['field']}: {d['message']}" + (f" ({d['value']})" if d.get("value") else "")
                for d in error.details[:ERRORS_SHOWN]
            ]
            if len(error.details) > ERRORS_SHOWN:
                lines.append(f"  … and {len(error.details) - ERRORS_SHOWN} more in the error report")
            raise CommandError("\n".join(lines)) from error
        self.stdout.write(
            f"check-in import #{check_in_import.pk}: {result['rows']} rows, {result['check_ins_created']} check-ins "
            f"added, {result['already_on_record']} already on record, {result['people_created']} new people"
        )

    def _division(self, path: str) -> Division:
        if path:
            division = Division.objects.filter(path=path).first()
            if division is None:
                raise CommandError(f"--division {path}: no such division")
            return division
        division = Division.objects.filter(level="city").order_by("path").first()
        if division is None:
            raise CommandError("no divisions loaded (fangkong import-divisions first)")
        return division
