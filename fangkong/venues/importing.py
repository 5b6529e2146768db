"""Bulk check-ins from a venue operator's export or the big-data team: receive the file, suggest its mapping,
check every row, and write the whole file in one transaction — or nothing.

The file handling is the screening list import's (`screening.imports`): the same reader (xlsx/xls/csv, UTF-8
with or without BOM, GBK/GB18030 detected, size and junk refused before reading), the same cell normalisers
(full-width characters, ID numbers damaged by spreadsheets, mobiles, dates as 2021-08-03, 2021/8/3,
2021年8月3日 or Excel serials, with a time), the same header matching with this file's own fields. What is
particular here: each row names a venue by its venue code (or the upload names the one venue), check-out is
optional (a missing one means the venue's assumed stay), and a row already on record (same person, venue and
check-in moment, from any channel) is skipped, so the same data imported twice changes nothing. The same file
is refused outright a second time. Errors carry the row number as in the file, the field and the reason, and
a masked .xlsx report is written; one audit entry per import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core import audit
from fangkong.core.errors import ConflictError, DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.jobs import start_job
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Division, Job, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.core.text import ParseError, compact
from fangkong.people.models import DocumentKind
from fangkong.people.services import BulkPerson, bulk_add_sources, bulk_resolve_people
from fangkong.screening.imports import normalise
from fangkong.screening.imports.fields import FIELDS as LIST_FIELDS
from fangkong.screening.imports.fields import ListField, suggest_mapping
from fangkong.screening.imports.normalise import CellError
from fangkong.screening.imports.reading import check_size, read_list
from fangkong.screening.imports.uploads import file_chunks, store_upload
from fangkong.screening.imports.validation import masked_value
from fangkong.venues.models import CheckIn, CheckInImport, CheckInSource, Venue
from fangkong.venues.selectors import known_venues
from fangkong.venues.services import PERSON_SOURCE, assumed_end

IMPORT_JOB = "venues.import_check_ins"
SAMPLE_ROWS = 5
BATCH = 5_000
INSERT_BATCH = 2_000
PROGRESS_EVERY = 20_000
# A sanity bound against a mistyped date or a device clock far ahead, not policy.
FUTURE_TOLERANCE = timedelta(hours=1)
Progress = Callable[[int, int, str], None]

_list_field = {spec.name: spec for spec in LIST_FIELDS}
FIELDS: tuple[ListField, ...] = (
    ListField(
        "venue_code",
        gettext_lazy("Venue code"),
        ("场所码", "场所编码", "场所代码", "场所编号", "场所码编号", "venue_code", "venuecode", "venue"),
    ),
    _list_field["name"],
    _list_field["document_kind"],
    _list_field["id_number"],
    _list_field["phone"],
    ListField(
        "checked_in_at",
        gettext_lazy("Check-in time"),
        ("签到时间", "扫码时间", "进入时间", "入场时间", "到访时间", "登记时间", "checkin_time", "checked_in_at"),
    ),
    ListField(
        "checked_out_at",
        gettext_lazy("Check-out time"),
        ("签出时间", "离开时间", "离场时间", "checkout_time", "checked_out_at"),
    ),
    _list_field["source_reference"],
)
FIELD_NAMES = tuple(spec.name for spec in FIELDS)


class CheckInImportError(DomainError):
    default_code = ErrorCode.IMPORT_FAILED


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    samples: list[list[str]]  # the first rows, identifiers masked
    suggested: dict[str, str]
    rows: int


@dataclass(slots=True)
class ValidCheckIn:
    row: int
    venue: Venue
    name: str
    document_kind: str  # '' without a document
    document_number: str
    phone: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    source_reference: str

    @property
    def identity_key(self) -> tuple[str, str, str]:
        if self.document_number:
            return ("document", self.document_kind, self.document_number)
        return ("phone", self.name, self.phone)

    def masked(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "name": self.name,
            "document_kind": self.document_kind,
            "document": mask_id_number(self.document_number),
            "phone": mask_phone(self.phone),
            "venue": self.venue.code,
            "checked_in_at": self.checked_in_at.isoformat(),
            "source_reference": self.source_reference,
        }


def _require(by: User | None, division: Division) -> None:
    if by is None:
        return  # the command line, run by an operator on the server
    if not by.can(Capability.VENUES_MANAGE) or not is_in_scope(division.path, by):
        raise PermissionDeniedError()


def files_directory() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "venue-check-ins"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _already_imported(first: CheckInImport) -> ConflictError:
    return ConflictError(
        _(
            "This file was already imported on %(date)s as check-in import #%(id)d (%(name)s, %(rows)d rows); "
            "importing it again would change nothing."
        )
        % {
            "date": timezone.localtime(first.uploaded_at).strftime("%Y-%m-%d %H:%M"),
            "id": first.pk,
            "name": first.file_name,
            "rows": first.rows,
        },
        field="file",
    )


def receive_check_in_file(
    chunks: Iterable[bytes],
    *,
    file_name: str,
    size: int,
    division: Division,
    venue: Venue | None,
    by: User | None,
) -> CheckInImport:
    """Keep an uploaded file (streamed to disk, hashed) and check that it is a readable table. Bad files are
    refused with a message and leave nothing behind; a file already imported here is refused."""
    _require(by, division)
    if venue is not None and not venue.division_id.startswith(division.path):
        raise CheckInImportError(_("Choose a venue in your jurisdiction."), field="venue")

    def find_earlier(sha256: str) -> CheckInImport | None:
        earlier = CheckInImport.objects.filter(division=division, sha256=sha256).first()
        if earlier is not None and earlier.is_imported:
            raise _already_imported(earlier)
        return earlier

    stored = store_upload(chunks, size=size, directory=files_directory(), find_earlier=find_earlier)
    first = stored.earlier
    actor = by if by is not None and by.pk else None
    if first is not None:  # uploaded before but never imported (errors, or abandoned at the mapping step)
        first.file_name, first.venue, first.uploaded_by = file_name[:255], venue, actor
        first.save(update_fields=["file_name", "venue", "uploaded_by"])
        return first
    return CheckInImport.objects.create(
        division=division,
        venue=venue,
        file_name=file_name[:255],
        file_path=str(stored.path),
        sha256=stored.sha256,
        size=stored.size,
        uploaded_by=actor,
    )


def receive_check_in_path(path: Path, *, division: Division, venue: Venue | None, by: User | None) -> CheckInImport:
    """`receive_check_in_file` for a file on the server (the command line, tests)."""
    size = path.stat().st_size
    check_size(size)
    return receive_check_in_file(
        file_chunks(path), file_name=path.name, size=size, division=division, venue=venue, by=by
    )


def _mask_sample(header: str, value: Any, mapping: dict[str, str]) -> str:
    text = masked_value("", value)
    if header == mapping.get("id_number"):
        return mask_id_number(text)
    if header == mapping.get("phone"):
        return mask_phone(text)
    if header == mapping.get("name"):
        return mask_name(text)
    from fangkong.core.masking import find_unmasked

    for found in find_unmasked(text):  # an unmapped column may still hold identifiers
        text = text.replace(found, mask_id_number(found) if len(found) > 11 else mask_phone(found))
    return text[:60]


def preview(check_in_import: CheckInImport) -> Preview:
    """Headers, the first rows masked, and the suggested mapping (the last one used here first)."""
    table = read_list(Path(check_in_import.file_path))
    suggested = suggest_mapping(table.headers, check_in_import.mapping or None, fields=FIELDS)
    samples = [
        [_mask_sample(header, value, suggested) for header, value in zip(table.headers, row, strict=False)]
        for row in table.rows[:SAMPLE_ROWS]
    ]
    return Preview(headers=table.headers, samples=samples, suggested=suggested, rows=len(table.rows))


def check_mapping(mapping: dict[str, str], headers: list[str], *, has_venue: bool) -> dict[str, str]:
    """Keep the mapped fields; refuse unknown fields, absent headers, a header used twice, missing fields."""
    clean = {field: header for field, header in mapping.items() if header}
    unknown = sorted(set(clean) - set(FIELD_NAMES))
    if unknown:
        raise CheckInImportError(_("Unknown field %(field)s.") % {"field": unknown[0]}, field=unknown[0])
    seen: set[str] = set()
    for field, header in clean.items():
        if header not in headers:
            raise CheckInImportError(
                _("The file has no column %(header)s (for %(field)s). Its columns are: %(headers)s.")
                % {"header": header, "field": field, "headers": ", ".join(headers[:30])},
                field=field,
            )
        if header in seen:
            raise CheckInImportError(
                _("The column %(header)s is mapped to two fields.") % {"header": header}, field=field
            )
        seen.add(header)
    missing = [f for f in ("name", "checked_in_at") if f not in clean]
    if "id_number" not in clean and "phone" not in clean:
        missing.append("id_number")
    if not has_venue and "venue_code" not in clean:
        missing.append("venue_code")
    if missing:
        labels = {spec.name: str(spec.label) for spec in FIELDS}
        raise CheckInImportError(
            _(
                "Choose the columns for: %(fields)s (the name, the check-in time, the ID number or the mobile, "
                "and the venue code unless the file is for one venue). The file's columns are: %(headers)s."
            )
            % {"fields": ", ".join(labels[f] for f in missing), "headers": ", ".join(headers[:30])},
            field=missing[0],
        )
    return clean


@transaction.atomic
def start_check_in_import(check_in_import: CheckInImport, *, mapping: dict[str, str], by: User | None) -> Job:
    """Confirm the mapping (remembered on the import) and start the background import."""
    division = Division.objects.get(path=check_in_import.division_id)
    _require(by, division)
    locked = CheckInImport.objects.select_for_update().get(pk=check_in_import.pk)
    if locked.is_imported:
        raise _already_imported(locked)
    table = read_list(Path(locked.file_path))
    clean = check_mapping(mapping, table.headers, has_venue=locked.venue_id is not None)
    job = start_job(IMPORT_JOB, params={"import_id": locked.pk, "mapping": clean}, by=by, division_path=division.path)
    CheckInImport.objects.filter(pk=locked.pk).update(job=job, mapping=clean, errors=0, rows=0)
    return job


def _time_cell(value: Any, what: str, *, now: datetime) -> datetime:
    try:
        moment = normalise.moment(value)
    except ParseError as error:
        raise CellError(
            _("Invalid %(what)s: %(reason)s") % {"what": what, "reason": normalise.DATE_MESSAGES[error.code]}
        ) from error
    if moment > now + FUTURE_TOLERANCE:
        raise CellError(_("The %(what)s is in the future.") % {"what": what})
    return moment


def _blank(row: list[Any]) -> str:
    return ""


def validate_check_ins(
    check_in_import: CheckInImport,
    rows: list[list[Any]],
    row_numbers: list[int],
    headers: list[str],
    mapping: dict[str, str],
    *,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[ValidCheckIn], list[dict[str, Any]]]:
    """All rows, all errors: ([valid check-ins], [{row, field, message, value}]) — values masked."""
    get = {field: itemgetter(headers.index(header)) for field, header in mapping.items()}
    cell: dict[str, Callable[[list[Any]], Any]] = {field: get.get(field, _blank) for field in FIELD_NAMES}
    venues = known_venues(check_in_import.division_id)
    chosen = check_in_import.venue
    valid: list[ValidCheckIn] = []
    errors: list[dict[str, Any]] = []
    check_in_word, check_out_word = _("check-in time"), _("check-out time")
    for index, (number, row) in enumerate(zip(row_numbers, rows, strict=True)):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, len(rows))
        failed = False

        def fail(field: str, message: Any, value: Any, number: int = number) -> None:
            nonlocal failed
            failed = True
            errors.append({"row": number, "field": field, "message": str(message), "value": masked_value(field, value)})

        code = compact(cell["venue_code"](row)).upper()
        venue = venues.get(code) if code else chosen
        if venue is None:
            if code:
                fail("venue_code", _("No venue with code %(code)s in your jurisdiction.") % {"code": code[:20]}, code)
            else:
                fail("venue_code", _("Give the venue code."), "")
        try:
            name = normalise.name(cell["name"](row))
        except CellError as error:
            fail("name", error.message, cell["name"](row))
            name = ""
        kind: str = DocumentKind.RESIDENT_ID
        try:
            kind = normalise.document_kind(cell["document_kind"](row))
        except CellError as error:
            fail("document_kind", error.message, cell["document_kind"](row))
        raw_number, raw_phone = cell["id_number"](row), cell["phone"](row)
        document = phone = ""
        if not normalise.is_blank(raw_number):
            try:
                document = normalise.document_number(raw_number, kind)
            except CellError as error:
                fail("id_number", error.message, raw_number)
        if not normalise.is_blank(raw_phone):
            try:
                phone = normalise.mobile(raw_phone)
            except CellError as error:
                fail("phone", error.message, raw_phone)
        elif normalise.is_blank(raw_number):
            fail("id_number", _("Give at least an ID number or a mobile number."), "")
        checked_in_at: datetime | None = None
        try:
            checked_in_at = _time_cell(cell["checked_in_at"](row), check_in_word, now=now)
        except CellError as error:
            fail("checked_in_at", error.message, cell["checked_in_at"](row))
        checked_out_at: datetime | None = None
        raw_out = cell["checked_out_at"](row)
        if not normalise.is_blank(raw_out):
            try:
                checked_out_at = _time_cell(raw_out, check_out_word, now=now)
                if checked_in_at is not None and checked_out_at < checked_in_at:
                    fail("checked_out_at", _("The check-out is before the check-in."), raw_out)
            except CellError as error:
                fail("checked_out_at", error.message, raw_out)
        if failed or venue is None or checked_in_at is None:
            continue
        valid.append(
            ValidCheckIn(
                row=number,
                venue=venue,
                name=name,
                document_kind=kind if document else "",
                document_number=document,
                phone=phone,
                checked_in_at=checked_in_at,
                checked_out_at=checked_out_at,
                source_reference=normalise.reference(cell["source_reference"](row)),
            )
        )
    if progress is not None:
        progress(len(rows), len(rows))
    return valid, errors


def error_report_path(check_in_import: CheckInImport) -> Path:
    return files_directory() / f"{check_in_import.sha256}-{check_in_import.pk}-errors.xlsx"


def error_workbook_bytes(errors: list[dict[str, Any]]) -> bytes:
    """Every failing row as an .xlsx (values masked): row, field, problem, value."""
    import io

    from openpyxl import Workbook

    labels = {spec.name: str(spec.label) for spec in FIELDS}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Errors")))
    sheet.append([str(_("Row")), str(_("Field")), str(_("Problem")), str(_("Value (masked)"))])
    for error in errors:
        sheet.append([error["row"], labels.get(error["field"], error["field"]), error["message"], error["value"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _noop(done: int, total: int, message: str) -> None:
    return None


def _chunks(items: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write(valid: list[ValidCheckIn], *, check_in_import: CheckInImport, by: User | None) -> dict[str, int]:
    """The registry (resolved or created, with provenance), then the check-ins not already on record."""
    prefix = f"{check_in_import.sha256[:16]}:"
    resolution = bulk_resolve_people(
        [
            BulkPerson(
                key=item.identity_key,
                name=item.name,
                document_kind=item.document_kind,
                document_number=item.document_number,
                phone=item.phone,
                address="",
                home_division=item.venue.division_id,
            )
            for item in valid
        ],
        insert_batch=INSERT_BATCH,
    )
    person_of = resolution.person_of
    bulk_add_sources(
        [(person_of[item.identity_key], f"{prefix}{item.row}", item.masked()) for item in valid],
        source=PERSON_SOURCE,
        by=by,
        insert_batch=INSERT_BATCH,
    )
    person_ids = sorted({person_of[item.identity_key] for item in valid})
    earliest = min(item.checked_in_at for item in valid)
    latest = max(item.checked_in_at for item in valid)
    on_record: set[tuple[int, int, datetime]] = set()
    for batch in _chunks(person_ids):
        on_record.update(
            CheckIn.objects.filter(
                person_id__in=batch, checked_in_at__gte=earliest, checked_in_at__lte=latest
            ).values_list("person_id", "venue_id", "checked_in_at")
        )
    actor = by if by is not None and by.pk else None
    fresh: list[CheckIn] = []
    for item in valid:
        key = (person_of[item.identity_key], item.venue.pk, item.checked_in_at)
        if key in on_record:
            continue
        on_record.add(key)
        fresh.append(
            CheckIn(
                venue=item.venue,
                division_id=item.venue.division_id,
                person_id=key[0],
                checked_in_at=item.checked_in_at,
                checked_out_at=item.checked_out_at,
                ends_at=assumed_end(item.venue, item.checked_in_at, item.checked_out_at),
                source=CheckInSource.IMPORT,
                reference=f"{prefix}{item.row}",
                source_import=check_in_import,
                recorded_by=actor,
            )
        )
    for batch in _chunks(fresh):
        CheckIn.objects.bulk_create(batch, batch_size=INSERT_BATCH)
    return {
        "rows": len(valid),
        "check_ins_created": len(fresh),
        "already_on_record": len(valid) - len(fresh),
        "people_created": resolution.created,
    }


def import_check_ins(
    check_in_import: CheckInImport,
    *,
    mapping: dict[str, str],
    by: User | None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Read, check every row, and — only if all rows are valid — write the whole file in one transaction.
    On errors the report is written, `errors` counts the failing rows, and CheckInImportError carries every
    error (row, field, message, masked value); nothing else is written."""
    division = Division.objects.get(path=check_in_import.division_id)
    _require(by, division)
    report = progress or _noop
    now = now or timezone.now()
    if check_in_import.is_imported:
        raise _already_imported(check_in_import)
    report(0, 0, _("reading the file"))
    table = read_list(Path(check_in_import.file_path))
    clean = check_mapping(mapping, table.headers, has_venue=check_in_import.venue_id is not None)
    total = len(table.rows)
    valid, errors = validate_check_ins(
        check_in_import,
        table.rows,
        table.row_numbers,
        table.headers,
        clean,
        now=now,
        progress=lambda done, all_rows: report(done, all_rows, _("checking rows")),
    )
    del table
    if errors:
        error_report_path(check_in_import).write_bytes(error_workbook_bytes(errors))
        failing = len({e["row"] for e in errors})
        CheckInImport.objects.filter(pk=check_in_import.pk).update(rows=total, errors=failing, created=0)
        check_in_import.rows, check_in_import.errors = total, failing
        raise CheckInImportError(
            _(
                "%(count)d of %(total)d rows have errors; nothing was imported. "
                "Download the error report, fix the file and upload it again."
            )
            % {"count": failing, "total": total},
            row=errors[0]["row"],
            field=errors[0]["field"],
            details=errors,
        )
    report(0, total, _("writing (one transaction: the page shows the result when it commits)"))
    with transaction.atomic():
        locked = CheckInImport.objects.select_for_update().get(pk=check_in_import.pk)
        if locked.is_imported:
            raise _already_imported(locked)
        counts = _write(valid, check_in_import=locked, by=by)
        CheckInImport.objects.filter(pk=locked.pk).update(
            rows=total, errors=0, created=counts["check_ins_created"], mapping=clean
        )
        audit.record(
            "venues.checkins.import",
            by=by,
            target=locked,
            division_path=locked.division_id,
            changes={
                "file": [None, locked.file_name],
                "sha256": [None, locked.sha256],
                **{key: [0, value] for key, value in counts.items()},
            },
        )
    check_in_import.rows, check_in_import.errors, check_in_import.created = total, 0, counts["check_ins_created"]
    report(total, total, _("done"))
    return counts
