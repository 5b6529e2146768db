"""Screening list imports: receive a file, suggest its mapping, check every row, and load the valid file into
the registry and the risk pool in one transaction.

A file never half-imports: all rows are checked first and any error stops the import with every row's
error (row number as in the file, field, reason) in a downloadable report; the write itself is a single
transaction. The same file (by content hash) is imported once per jurisdiction: a second upload is refused
with a pointer to the first. Rows resolve onto the registry's identities (same document → same person;
without a document, same name and mobile), each row leaves a provenance row on the person, a report on the
ledger, and — for people not already in the pool — a new entry routed to the community of their address or
to the county's unlocated queue, with deadlines from the policy edition (`screening.services.entry_terms`,
shared with `list_person`). One audit entry per import.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterable
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit, bulk
from fangkong.core.errors import ConflictError, DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.jobs import start_job
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Division, Job, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.screening.imports import writing
from fangkong.screening.imports.fields import FIELD_NAMES, FIELDS, missing_fields, suggest_mapping
from fangkong.screening.imports.reading import Table, check_size, read_list
from fangkong.screening.imports.selectors import remembered_layout, router_for
from fangkong.screening.imports.uploads import file_chunks, store_upload
from fangkong.screening.imports.validation import CheckedChunk, RowChecker
from fangkong.screening.models import ListImport, ListLayout, Reason, RiskReport, Source

IMPORT_JOB = "screening.import_list"
LIST_SOURCES = (Source.POLICE, Source.TELECOM, Source.TRANSPORT, Source.ASSISTANCE_NOTICE)
SAMPLE_ROWS = 5
Progress = Callable[[int, int, str], None]


class ListImportError(DomainError):
    default_code = ErrorCode.IMPORT_FAILED


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    samples: list[list[str]]  # the first rows, identifiers masked
    suggested: dict[str, str]
    rows: int


@dataclass(frozen=True)
class ImportResult:
    rows: int
    people_created: int
    entries_created: int
    reports_added: int
    unlocated: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _require(by: User | None, division: Division) -> None:
    if by is None:
        return  # the command line, run by an operator on the server
    if not by.can(Capability.SCREENING_IMPORT) or not is_in_scope(division.path, by):
        raise PermissionDeniedError()


def lists_directory() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "lists"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def is_imported(list_import: ListImport) -> bool:
    """Committed: the write transaction sets `rows` with `errors == 0`; a failed check sets `errors`."""
    return list_import.rows > 0 and list_import.errors == 0


def _already_imported(first: ListImport) -> ConflictError:
    return ConflictError(
        _(
            "This file was already imported on %(date)s as import #%(id)d (%(name)s, %(rows)d rows); "
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


def _reference_prefix(sha256: str) -> str:
    return f"{sha256[:16]}:"


def _imported_elsewhere(source: str, sha256: str) -> bool:
    return RiskReport.objects.filter(source=source, reference__startswith=_reference_prefix(sha256)).exists()


def receive_list_file(
    chunks: Iterable[bytes],
    *,
    file_name: str,
    size: int,
    source: str,
    layout_name: str,
    division: Division,
    by: User | None,
) -> ListImport:
    """Keep an uploaded list (streamed to disk and hashed) and check that it is a readable table. Bad files —
    empty, too large, binary junk, unreadable, no data rows — are refused with a message and leave nothing
    behind; the same file already imported here is refused with a pointer to the first import."""
    _require(by, division)
    if source not in LIST_SOURCES:
        raise ListImportError(_("Choose where the list comes from."), field="source")
    layout_name = " ".join(layout_name.split())[:100]
    if not layout_name:
        raise ListImportError(
            _("Name the list's layout (for example 市公安局推送) so it is remembered."), field="layout"
        )

    def find_earlier(sha256: str) -> ListImport | None:
        earlier = ListImport.objects.filter(division=division, sha256=sha256).first()
        if earlier is not None and is_imported(earlier):
            raise _already_imported(earlier)
        if _imported_elsewhere(source, sha256):
            raise ConflictError(
                _("This file was already imported (by another jurisdiction); importing it again would change nothing."),
                field="file",
            )
        return earlier

    stored = store_upload(chunks, size=size, directory=lists_directory(), find_earlier=find_earlier)
    first = stored.earlier
    layout = remembered_layout(division.path, layout_name)
    if first is not None:  # uploaded before but never imported (errors, or abandoned at the mapping step)
        first.file_name, first.source, first.layout, first.uploaded_by = file_name[:255], source, layout, by
        first.save(update_fields=["file_name", "source", "layout", "uploaded_by"])
        return first
    return ListImport.objects.create(
        division=division,
        layout=layout,
        source=source,
        file_name=file_name[:255],
        file_path=str(stored.path),
        sha256=stored.sha256,
        size=stored.size,
        uploaded_by=by if by is not None and by.pk else None,
    )


def receive_list_path(path: Path, *, source: str, layout_name: str, division: Division, by: User | None) -> ListImport:
    """`receive_list_file` for a file on the server (the command line)."""
    size = path.stat().st_size
    check_size(size)
    return receive_list_file(
        file_chunks(path),
        file_name=path.name,
        size=size,
        source=source,
        layout_name=layout_name,
        division=division,
        by=by,
    )


def _mask_sample(header: str, value: Any, mapping: dict[str, str]) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        text = str(int(value))
    if header == mapping.get("id_number"):
        return mask_id_number(text)
    if header == mapping.get("phone"):
        return mask_phone(text)
    if header == mapping.get("name"):
        return mask_name(text)
    # An unmapped column may still hold identifiers; mask anything that looks like one.
    from fangkong.core.masking import find_unmasked

    for found in find_unmasked(text):
        text = text.replace(found, mask_id_number(found) if len(found) > 11 else mask_phone(found))
    return text[:60]


def preview(list_import: ListImport, *, layout_name: str = "") -> Preview:
    """Headers, the first rows masked, and the suggested mapping (remembered layout first, then synonyms)."""
    table = read_list(Path(list_import.file_path))
    layout = remembered_layout(list_import.division_id, layout_name) if layout_name else list_import.layout
    suggested = suggest_mapping(table.headers, layout.mapping if layout else None)
    samples = [
        [_mask_sample(header, value, suggested) for header, value in zip(table.headers, row, strict=False)]
        for row in table.rows[:SAMPLE_ROWS]
    ]
    return Preview(headers=table.headers, samples=samples, suggested=suggested, rows=len(table.rows))


def check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """Keep the mapped fields; refuse unknown fields, absent headers, a header used twice, missing fields."""
    clean = {field: header for field, header in mapping.items() if header}
    unknown = sorted(set(clean) - set(FIELD_NAMES))
    if unknown:
        raise ListImportError(_("Unknown field %(field)s.") % {"field": unknown[0]}, field=unknown[0])
    for field, header in clean.items():
        if header not in headers:
            raise ListImportError(
                _("The file has no column %(header)s (for %(field)s). Its columns are: %(headers)s.")
                % {"header": header, "field": field, "headers": ", ".join(headers[:30])},
                field=field,
            )
    seen: dict[str, str] = {}
    for field, header in clean.items():
        if header in seen:
            raise ListImportError(_("The column %(header)s is mapped to two fields.") % {"header": header}, field=field)
        seen[header] = field
    missing = missing_fields(clean)
    if missing:
        labels = {f.name: str(f.label) for f in FIELDS}
        raise ListImportError(
            _(
                "Choose the columns for: %(fields)s (the name, and the ID number or the mobile). "
                "The file's columns are: %(headers)s."
            )
            % {"fields": ", ".join(labels[f] for f in missing), "headers": ", ".join(headers[:30])},
            field=missing[0],
        )
    return clean


@transaction.atomic
def save_layout(division: Division, *, name: str, source: str, mapping: dict[str, str], by: User | None) -> ListLayout:
    """Remember a source's layout under its name, for this jurisdiction."""
    _require(by, division)
    layout = ListLayout.objects.filter(division=division, name=name).first()
    old = dict(layout.mapping) if layout is not None else {}
    if layout is None:
        layout = ListLayout.objects.create(division=division, name=name, source=source, mapping=mapping)
    elif old != mapping or layout.source != source:
        layout.mapping, layout.source = mapping, source
        layout.save(update_fields=["mapping", "source", "updated_at"])
    if old != mapping:
        audit.record(
            "screening.list.layout",
            by=by,
            target=layout,
            division_path=division.path,
            changes={"mapping": [old or None, mapping]},
        )
    return layout


@transaction.atomic
def start_list_import(
    list_import: ListImport, *, mapping: dict[str, str], layout_name: str, reason: str, by: User | None
) -> Job:
    """Confirm the mapping (remembered as the layout) and start the background import."""
    _require(by, list_import.division)
    list_import = ListImport.objects.select_for_update().get(pk=list_import.pk)
    if is_imported(list_import):
        raise _already_imported(list_import)
    if reason not in Reason.values:
        raise ListImportError(_("Unknown risk reason."), field="reason")
    table = read_list(Path(list_import.file_path))
    clean = check_mapping(mapping, table.headers)
    layout = save_layout(list_import.division, name=layout_name, source=list_import.source, mapping=clean, by=by)
    job = start_job(
        IMPORT_JOB,
        params={"import_id": list_import.pk, "mapping": clean, "reason": reason},
        by=by,
        division_path=list_import.division_id,
    )
    ListImport.objects.filter(pk=list_import.pk).update(job=job, layout=layout, errors=0, rows=0)
    return job


def error_report_path(list_import: ListImport) -> Path:
    return lists_directory() / f"{list_import.sha256}-{list_import.pk}-errors.xlsx"


def _error_workbook(errors: list[dict[str, Any]]) -> Any:
    from openpyxl import Workbook

    labels = {f.name: str(f.label) for f in FIELDS}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Errors")))
    sheet.append([str(_("Row")), str(_("Field")), str(_("Problem")), str(_("Value (masked)"))])
    for error in errors:
        sheet.append(
            [error["row"], labels.get(error["field"], error["field"]), error["message"], error.get("value", "")]
        )
    return workbook


def write_error_report(list_import: ListImport, errors: list[dict[str, Any]]) -> Path:
    """Every failing row as an .xlsx (values masked): row, field, problem, value."""
    path = error_report_path(list_import)
    _error_workbook(errors).save(path)
    return path


def empty_error_report() -> bytes:
    buffer = io.BytesIO()
    _error_workbook([]).save(buffer)
    return buffer.getvalue()


def _noop(done: int, total: int, message: str) -> None:
    return None


def import_list(
    list_import: ListImport,
    *,
    mapping: dict[str, str],
    reason: str = Reason.ARRIVAL,
    by: User | None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Read the file, check every row, and write it in one transaction that commits only if every row is valid
    — the rows are checked in chunks, by other processes for a big file, while the chunks already checked are
    written (`_write_while_checking`).

    On errors: the error report is written, `list_import.errors` counts the failing rows, and ListImportError
    carries every error (row, field, message, masked value); nothing else is written. Runs with the cyclic
    garbage collector paused (`core.bulk.cyclic_gc_paused`)."""
    with bulk.cyclic_gc_paused():
        return _import_list(list_import, mapping=mapping, reason=reason, by=by, progress=progress, now=now)


def _import_list(
    list_import: ListImport,
    *,
    mapping: dict[str, str],
    reason: str,
    by: User | None,
    progress: Progress | None,
    now: datetime | None,
) -> ImportResult:
    _require(by, list_import.division)
    report = progress or _noop
    now = now or timezone.now()
    if is_imported(list_import):
        raise _already_imported(list_import)
    report(0, 0, str(_("reading the file")))
    table: Table = read_list(Path(list_import.file_path))
    clean = check_mapping(mapping, table.headers)
    total = len(table.rows)
    checker = RowChecker(table, clean, router=router_for(list_import.division_id), now=now)
    del table  # the checker holds it while it checks
    chunks = iter(checker)
    with closing(chunks):  # the checking processes end with the chunks, however the write ends
        result, errors = _write_while_checking(
            checker, chunks, list_import=list_import, reason=reason, by=by, now=now, report=report
        )
    if errors:
        write_error_report(list_import, errors)
        failing = len({e["row"] for e in errors})
        ListImport.objects.filter(pk=list_import.pk).update(rows=total, errors=failing, created=0)
        list_import.rows, list_import.errors = total, failing
        raise ListImportError(
            _(
                "%(count)d of %(total)d rows have errors; nothing was imported. "
                "Download the error report, fix the file and upload it again."
            )
            % {"count": failing, "total": total},
            row=errors[0]["row"],
            field=errors[0]["field"],
            details=errors,
        )
    assert result is not None
    list_import.rows, list_import.errors, list_import.created = total, 0, result.entries_created
    report(total, total, str(_("done")))
    return result


class _RowsFailed(Exception):
    """A checked chunk had errors: leave the write transaction (rolled back) and go on checking."""


def _write_while_checking(
    checker: RowChecker,
    chunks: Generator[CheckedChunk, None, None],
    *,
    list_import: ListImport,
    reason: str,
    by: User | None,
    now: datetime,
    report: Progress,
) -> tuple[ImportResult | None, list[dict[str, Any]]]:
    """Write each checked chunk as it comes, in one transaction opened at the first chunk without errors; the
    first error rolls everything back and the rest of the file is only checked (in every process), so that the
    error report has every failing row. Returns the result, or the errors."""
    total = checker.total
    errors: list[dict[str, Any]] = []
    message = str(_("checking and writing (one transaction: the page shows the result when it commits)"))
    report(0, total, message)
    first = next(chunks)
    errors.extend(first.errors)
    if not errors:
        try:
            with bulk.large_write(total), transaction.atomic():
                locked = ListImport.objects.select_for_update().get(pk=list_import.pk)
                if is_imported(locked) or _imported_elsewhere(locked.source, locked.sha256):
                    raise _already_imported(locked)
                with writing.ListWriter(list_import=locked, reason=reason, by=by, now=now, rows=total) as writer:
                    for chunk in chain([first], chunks):
                        if chunk.errors:
                            errors.extend(chunk.errors)
                            raise _RowsFailed
                        writer.add(chunk.valid)
                        report(chunk.stop, total, message)
                    report(total, total, str(_("writing (one transaction: the page shows the result when it commits)")))
                    counts = writer.finish()
                result = ImportResult(rows=total, **counts)
                ListImport.objects.filter(pk=locked.pk).update(rows=total, errors=0, created=result.entries_created)
                audit.record(
                    "screening.list.import",
                    by=by,
                    target=locked,
                    division_path=locked.division_id,
                    changes={
                        "file": [None, locked.file_name],
                        "sha256": [None, locked.sha256],
                        "source": [None, locked.source],
                        **{key: [0, value] for key, value in result.as_dict().items()},
                    },
                )
            return result, []
        except _RowsFailed:
            pass
    checker.help_checking()
    for chunk in chunks:
        errors.extend(chunk.errors)
        report(chunk.stop, total, str(_("checking rows")))
    return None, errors
