"""Changes to core reference data: the jurisdiction tree and organisations."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.divisions_codes import DivisionCodeError, parse_division_code
from fangkong.core.errors import DomainError, ErrorCode
from fangkong.core.jobs import start_job
from fangkong.core.models import Division, Job, User

DIVISION_COLUMNS = ("code", "name")
ROOT_LEVELS = ("province", "city")  # the tree may start at a city; every lower level needs its parent


@dataclass(frozen=True)
class DivisionImport:
    created: int
    updated: int
    unchanged: int


def read_table(path: Path) -> list[dict[str, str]]:
    """Read a CSV in UTF-8 (with or without BOM) or GBK/GB18030; one dict per row, headers stripped."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            sample = raw[: 64 * 1024]
            sample = sample[: sample.rfind(b"\n") + 1] or sample
            best = from_bytes(sample).best()
            encoding = best.encoding if best and best.encoding.lower().startswith("gb") else "gb18030"
            text = raw.decode(encoding if encoding != "gb2312" else "gb18030")
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


@transaction.atomic
def import_divisions(rows: Iterable[Mapping[str, Any]], *, by: User | None, progress: Any = None) -> DivisionImport:
    """Load division rows (code, name, optional lon/lat/population). All-or-nothing: every row is checked first
    and any error names its row and field; nothing is written unless all are valid. Re-importing the same file
    changes nothing (rows are matched on their code)."""
    parsed: list[tuple[int, Any, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        missing = [c for c in DIVISION_COLUMNS if not str(row.get(c) or "").strip()]
        if missing:
            errors.append({"row": number, "field": missing[0], "message": _("This field is required.")})
            continue
        try:
            code = parse_division_code(str(row["code"]))
        except DivisionCodeError as error:
            errors.append({"row": number, "field": "code", "message": str(error)})
            continue
        if code.path in seen:
            errors.append({"row": number, "field": "code", "message": _("Duplicate code in this file.")})
            continue
        seen.add(code.path)
        extra: dict[str, Any] = {"name": str(row["name"]).strip()}
        for field in ("lon", "lat"):
            if str(row.get(field) or "").strip():
                try:
                    extra[field] = float(str(row[field]))
                except ValueError:
                    errors.append({"row": number, "field": field, "message": _("Not a number.")})
        if str(row.get("population") or "").strip():
            try:
                extra["population"] = int(float(str(row["population"])))
            except ValueError:
                errors.append({"row": number, "field": "population", "message": _("Not a number.")})
        parsed.append((number, code, extra))

    existing = {d.path: d for d in Division.objects.filter(path__in=[c.path for _, c, _ in parsed])}
    known_paths = seen | set(
        Division.objects.filter(path__in=[c.parent_path for _, c, _ in parsed if c.parent_path]).values_list(
            "path", flat=True
        )
    )
    for number, code, _extra in parsed:
        if code.level not in ROOT_LEVELS and code.parent_path not in known_paths:
            errors.append(
                {
                    "row": number,
                    "field": "code",
                    "message": _("Parent division %(parent)s is neither in the file nor loaded.")
                    % {"parent": code.parent_path},
                }
            )
    if errors:
        raise DomainError(
            _("%(count)d rows have errors; nothing was imported.") % {"count": len(errors)},
            code=ErrorCode.IMPORT_FAILED,
            row=errors[0]["row"],
            field=errors[0]["field"],
            details=errors,
        )

    created = updated = unchanged = 0
    parsed.sort(key=lambda item: len(item[1].path))  # parents before children
    by_path = dict(existing)
    for index, (_number, code, extra) in enumerate(parsed):
        parent = by_path.get(code.parent_path) if code.parent_path else None
        if parent is None and code.parent_path:
            parent = Division.objects.filter(path=code.parent_path).first()  # a city may be the root
            if parent is not None:
                by_path[parent.path] = parent
        values = {"code": code.code, "level": code.level, "parent": parent, **extra}
        division = existing.get(code.path)
        if division is None:
            division = Division.objects.create(path=code.path, **values)
            created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(division, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(division, key, value)
                division.save()
                updated += 1
            else:
                unchanged += 1
        by_path[code.path] = division
        if progress is not None and index % 500 == 0:
            progress(index, len(parsed))
    if created or updated:
        audit.record(
            "core.divisions.import",
            by=by,
            target_type="core.division",
            target_id="*",
            changes={"created": [0, created], "updated": [0, updated]},
        )
    return DivisionImport(created=created, updated=updated, unchanged=unchanged)


MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def start_division_import(upload: UploadedFile, *, by: User) -> Job:
    """Keep the uploaded file and start the import job; the job's page shows its progress."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is larger than 200 MB."), field="file")
    head = upload.read(4096)
    upload.seek(0)
    if b"\x00" in head:
        raise DomainError(_("This is not a CSV text file."), field="file")
    directory = Path(settings.MEDIA_ROOT) / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"divisions-{uuid.uuid4().hex}.csv"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return start_job("core.import_divisions", params={"path": str(path), "name": upload.name or ""}, by=by)


@transaction.atomic
def set_division_boundaries(boundaries: Mapping[str, dict[str, Any]], *, by: User | None) -> int:
    """Store GeoJSON geometries by division code (for the dashboard maps). Unknown codes are an error."""
    divisions = {d.code: d for d in Division.objects.filter(code__in=list(boundaries))}
    unknown = sorted(set(boundaries) - set(divisions))
    if unknown:
        raise DomainError(_("Unknown division codes: %(codes)s") % {"codes": ", ".join(unknown[:10])}, field="code")
    for code, geometry in boundaries.items():
        divisions[code].boundary = geometry
    Division.objects.bulk_update(divisions.values(), ["boundary"], batch_size=500)
    audit.record(
        "core.divisions.boundaries",
        by=by,
        target_type="core.division",
        target_id="*",
        changes={"boundaries": [0, len(divisions)]},
    )
    return len(divisions)
