"""Lab results, from a file (.csv in UTF-8 or GBK, .xlsx, .xls) or the API, applied all or nothing.

Every row is checked first (`result_rows.check_rows`). A file whose columns cannot be matched is refused at its
header row. Any error refuses the whole file: a `ResultImport` with status `refused` keeps every error (row as in
the file, field, code, message) for the error report, and no tube changes. A valid file is applied in one
transaction, with the reactions in it: a positive pooled tube opens its recall and an invalid round tube its
resample list (`recall.open_recall`), a retest tube's result resolves the retest (`recall.resolve_retest`), the
people of a negative tube move to "tested" in the closed loop (`screening.services.record_tested`), and people
on an invalid tube's list who were sampled again in a round are resolved (`recall.resolve_resamples`). The same
file (by SHA-256) is applied once per lab; an API call may carry an idempotency key with the same effect.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.errors import DomainError
from fangkong.core.models import Organization, OrganizationKind, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.people.models import Person
from fangkong.screening import services as screening
from fangkong.screening.imports.reading import read_list
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.testing.models import (
    ImportSource,
    ImportStatus,
    ResultImport,
    ResultValue,
    Retest,
    Sample,
    SamplePurpose,
    Tube,
    TubeResult,
    TubeStatus,
)
from fangkong.testing.services import recall
from fangkong.testing.services.common import TestingError, TestingErrorCode, require
from fangkong.testing.services.result_rows import CheckedRow, ResultRow, check_rows, map_columns, row_error


def _require_lab(lab: Organization, by: User | None) -> None:
    require(by, Capability.TESTING_LAB)
    if lab.kind != OrganizationKind.LAB:
        raise TestingError(_("Choose a laboratory."), code=TestingErrorCode.WRONG_LAB, field="lab")
    if by is None:
        return
    if by.organization_id is not None and by.organization_id != lab.pk and not by.can(Capability.TESTING_MANAGE):
        raise TestingError(_("You do not work for this lab."), code=TestingErrorCode.WRONG_LAB, field="lab")
    if by.organization_id != lab.pk and not is_in_scope(lab.division_id, by):
        raise TestingError(_("You do not work for this lab."), code=TestingErrorCode.WRONG_LAB, field="lab")


def _refused(
    lab: Organization,
    *,
    errors: list[dict[str, Any]],
    source: str,
    file_name: str,
    sha256: str,
    rows: int,
    by: User | None,
) -> ResultImport:
    refused = ResultImport.objects.create(
        lab=lab,
        division_id=lab.division_id,
        source=source,
        file_name=file_name[:200],
        sha256=sha256,
        status=ImportStatus.REFUSED,
        row_count=rows,
        errors=errors,
        created_by=by if by is not None and by.pk else None,
    )
    audit.record(
        "testing.results.refuse",
        by=by,
        target=refused,
        division_path=lab.division_id,
        changes={"errors": [None, len(errors)], "file": [None, file_name]},
    )
    return refused


def _move_negatives_to_tested(tube_ids: list[int], *, by: User | None) -> int:
    """People of negative pooled tubes who are in the loop below "tested" move to tested (one call each; the
    query first narrows to them, so a file of thousands of negative tubes costs a couple of queries)."""
    sampled = dict(
        Sample.objects.filter(tube_id__in=tube_ids, purpose=SamplePurpose.ROUND)
        .order_by("person_id", "sampled_at")
        .values_list("person_id", "sampled_at")
    )
    waiting = PoolEntry.objects.filter(
        person_id__in=list(sampled), state__in=[LoopState.LISTED, LoopState.LOCATED]
    ).values_list("person_id", flat=True)
    moved = 0
    for person in Person.objects.filter(pk__in=list(waiting)):
        screening.record_tested(person, sampled_at=sampled[person.pk], by=None, note="testing: negative")
        moved += 1
    return moved


def _apply(checked: list[CheckedRow], result_import: ResultImport, *, by: User | None, now: datetime) -> dict[str, int]:
    tubes = {
        t.pk: t
        for t in Tube.objects.select_for_update().filter(pk__in=[c.tube.pk for c in checked]).order_by("barcode")
    }
    for item in checked:  # a concurrent import may have resulted a tube since the check
        if tubes[item.tube.pk].status != TubeStatus.RECEIVED:
            raise TestingError(
                _("Tube %(barcode)s changed while the file was checked; import it again.")
                % {"barcode": item.tube.barcode},
                code=TestingErrorCode.ALREADY_RESULTED,
                field="barcode",
                row=item.row,
            )
    results = [
        TubeResult(
            tube_id=item.tube.pk,
            lab_id=result_import.lab_id,
            division_id=item.tube.division_id,
            result=item.result,
            ct_orf1ab=item.ct_orf1ab,
            ct_n=item.ct_n,
            resulted_at=item.resulted_at,
            result_import=result_import,
            recorded_by=by if by is not None and by.pk else None,
        )
        for item in checked
    ]
    TubeResult.objects.bulk_create(results, batch_size=1000)
    for item in checked:
        tube = tubes[item.tube.pk]
        tube.status, tube.resulted_at = TubeStatus.RESULTED, item.resulted_at
    Tube.objects.bulk_update(list(tubes.values()), ["status", "resulted_at"], batch_size=1000)

    counts: dict[str, int] = defaultdict(int)
    retests = {r.tube_id: r for r in Retest.objects.filter(tube_id__in=list(tubes))}
    negatives: list[int] = []
    for result in results:
        tube = tubes[result.tube_id]
        counts[result.result] += 1
        if tube.pk in retests:
            recall.resolve_retest(retests[tube.pk], result=result, by=by, now=now)
            counts["retests"] += 1
        elif result.result == ResultValue.POSITIVE:
            recall.open_recall(tube, tube_result=result, by=by, now=now)
            counts["recalls"] += 1
        elif result.result == ResultValue.INVALID:
            recall.open_recall(tube, tube_result=result, by=by, now=now)
            counts["resample_lists"] += 1
        elif result.result == ResultValue.NEGATIVE:
            negatives.append(tube.pk)
    if negatives:
        counts["moved_to_tested"] = _move_negatives_to_tested(negatives, by=by)
    resampled = recall.resolve_resamples([r for r in results if r.tube_id not in retests], by=by, now=now)
    if resampled:
        counts["resamples_resolved"] = resampled
    return dict(counts)


def import_results(
    lab: Organization,
    *,
    rows: list[ResultRow],
    by: User | None,
    source: str = ImportSource.API,
    file_name: str = "",
    sha256: str = "",
    idempotency_key: str = "",
) -> ResultImport:
    """Check every row, then apply all or none. Returns the import: `applied`, or `refused` with its errors
    (each {row, field, code, message}). With `idempotency_key` (or a file's `sha256`) an import already applied
    for this lab is returned as it is, and nothing changes."""
    _require_lab(lab, by)
    if idempotency_key:
        done = ResultImport.objects.filter(
            lab=lab, idempotency_key=idempotency_key, status=ImportStatus.APPLIED
        ).first()
        if done is not None:
            return done
    if sha256:
        first = ResultImport.objects.filter(lab=lab, sha256=sha256, status=ImportStatus.APPLIED).first()
        if first is not None:
            return _refused(
                lab,
                errors=[
                    row_error(
                        None,
                        "file",
                        TestingErrorCode.ALREADY_IMPORTED,
                        _("This file was already imported on %(when)s (import %(id)d).")
                        % {"when": timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M"), "id": first.pk},
                    )
                ],
                source=source,
                file_name=file_name,
                sha256="",
                rows=len(rows),
                by=by,
            )
    if not rows:
        return _refused(
            lab,
            errors=[row_error(None, "file", TestingErrorCode.INVALID, _("There are no result rows."))],
            source=source,
            file_name=file_name,
            sha256="",
            rows=0,
            by=by,
        )
    now = timezone.now()
    checked, errors = check_rows(lab, rows, now=now)
    if errors:
        return _refused(lab, errors=errors, source=source, file_name=file_name, sha256="", rows=len(rows), by=by)
    try:
        with transaction.atomic():
            result_import = ResultImport.objects.create(
                lab=lab,
                division_id=lab.division_id,
                source=source,
                file_name=file_name[:200],
                sha256=sha256,
                idempotency_key=idempotency_key,
                status=ImportStatus.APPLIED,
                row_count=len(rows),
                positive_count=sum(1 for c in checked if c.result == ResultValue.POSITIVE),
                created_by=by if by is not None and by.pk else None,
            )
            counts = _apply(checked, result_import, by=by, now=now)
            audit.record(
                "testing.results.apply",
                by=by,
                target=result_import,
                division_path=lab.division_id,
                changes={
                    "rows": [None, len(rows)],
                    "file": [None, file_name],
                    **{k: [None, v] for k, v in counts.items()},
                },
            )
    except IntegrityError:
        # The same key or file was applied concurrently: the winner stands.
        winner = (
            ResultImport.objects.filter(lab=lab, status=ImportStatus.APPLIED)
            .filter(**({"idempotency_key": idempotency_key} if idempotency_key else {"sha256": sha256}))
            .first()
        )
        if winner is None or not (idempotency_key or sha256):
            raise
        return winner
    except DomainError as error:
        return _refused(
            lab,
            errors=[row_error(error.row, error.field or "file", str(error.code), str(error.message))],
            source=source,
            file_name=file_name,
            sha256="",
            rows=len(rows),
            by=by,
        )
    return result_import


def import_result_file(lab: Organization, *, path: Path, file_name: str, by: User | None) -> ResultImport:
    """A lab's result file: read (encoding and type detected), columns matched by their headers, then
    `import_results`. Unreadable files and wrong columns are refused like bad rows (with row and field)."""
    _require_lab(lab, by)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        table = read_list(path)
    except DomainError as error:
        return _refused(
            lab,
            errors=[row_error(None, "file", str(error.code), str(error.message))],
            source=ImportSource.FILE,
            file_name=file_name,
            sha256="",
            rows=0,
            by=by,
        )
    mapping = map_columns(table.headers)
    if isinstance(mapping, list):
        return _refused(
            lab, errors=mapping, source=ImportSource.FILE, file_name=file_name, sha256="", rows=len(table.rows), by=by
        )

    def cell(values: list[Any], name: str) -> Any:
        return values[mapping[name]] if name in mapping else None

    rows = [
        ResultRow(
            row=number,
            barcode=cell(values, "barcode"),
            result=cell(values, "result"),
            ct_orf1ab=cell(values, "ct_orf1ab"),
            ct_n=cell(values, "ct_n"),
            resulted_at=cell(values, "resulted_at"),
        )
        for values, number in zip(table.rows, table.row_numbers, strict=True)
    ]
    return import_results(lab, rows=rows, by=by, source=ImportSource.FILE, file_name=file_name, sha256=sha256)
