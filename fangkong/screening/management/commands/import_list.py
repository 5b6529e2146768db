"""`fangkong import-list FILE --source police --layout "市公安局推送" [--map name=姓名 …] [--division PATH]`:
the same checks and write as the page, synchronously, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.errors import DomainError
from fangkong.core.models import Division
from fangkong.core.origin import Origin, origin
from fangkong.core.progress import ProgressBar
from fangkong.screening.imports import services
from fangkong.screening.imports.fields import FIELD_NAMES, suggest_mapping
from fangkong.screening.imports.reading import read_list
from fangkong.screening.imports.selectors import remembered_layout
from fangkong.screening.models import Reason

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import a screening list (.xlsx, .xls, .csv in UTF-8 or GBK) into the registry and the risk pool."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, choices=[str(s) for s in services.LIST_SOURCES])
        parser.add_argument("--layout", required=True, help="the source's layout name, remembered for next time")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=HEADER",
            help=f"column for a field ({', '.join(FIELD_NAMES)}); otherwise the remembered layout or synonyms",
        )
        parser.add_argument("--division", default="", help="the importing jurisdiction's path (default: the city)")
        parser.add_argument("--reason", default=Reason.ARRIVAL, choices=Reason.values)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        division = self._division(options["division"])
        explicit = {}
        for item in options["map"]:
            field, sep, header = item.partition("=")
            if not sep or field not in FIELD_NAMES:
                raise CommandError(f"--map {item!r}: write FIELD=HEADER with FIELD one of {', '.join(FIELD_NAMES)}")
            explicit[field] = header
        try:
            with origin(Origin(channel="cli")):
                list_import = services.receive_list_path(
                    path, source=options["source"], layout_name=options["layout"], division=division, by=None
                )
                headers = read_list(Path(list_import.file_path)).headers
                layout = remembered_layout(division.path, options["layout"])
                mapping = {**suggest_mapping(headers, layout.mapping if layout else None), **explicit}
                mapping = services.check_mapping(mapping, headers)
                self.stdout.write("mapping: " + ", ".join(f"{f}={h}" for f, h in mapping.items()))
                services.save_layout(
                    division, name=options["layout"], source=options["source"], mapping=mapping, by=None
                )
                bar = ProgressBar(self.stdout, label=path.name)
                result = services.import_list(
                    list_import, mapping=mapping, reason=options["reason"], by=None, progress=bar.update
                )
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
            f"import #{list_import.pk}: {result.rows} rows, {result.people_created} new people, "
            f"{result.entries_created} new in the pool ({result.unlocated} unlocated), "
            f"{result.reports_added} reports"
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
