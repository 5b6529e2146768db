"""Lab results, from a file (.csv in UTF-8 or GBK, .xlsx, .xls) or the API, applied all or nothing.

Every row is checked before anything is written: the barcode's format, a tube the platform knows, received by
this lab and not yet resulted, the same tube not twice in the file, the result (negative / positive / invalid,
in English or Chinese), Ct values (ORF1ab, N) between 0 and 50 when given, and the result time (not in the
future, not before the lab received the tube). A file whose columns cannot be matched is refused at its header
row. Any error refuses the whole file: a `ResultImport` with status `refused` keeps every error (row as in the
file, field, code, message) for the error report, and no tube changes. A valid file is applied in one
transaction, with the reactions in it: a positive pooled tube opens its recall (`recall.open_recall`), a retest
tube's result resolves the retest (`recall.resolve_retest`), and the people of a negative tube move to
"tested" in the closed loop (`screening.services.record_tested`). The same file (by SHA-256) is applied once per
lab; an API call may carry an idempotency key with the same effect.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
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
from fangkong.core.text import CHINA_TIME_ZONE, normalize_text
from fangkong.people.models import Person
from fangkong.screening import services as screening
from fangkong.screening.imports.reading import read_list
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.testing.codes import CodeError, normalize_barcode
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

CT_MAX = Decimal("50")
FUTURE_SLACK = timedelta(minutes=10)

RESULT_WORDS: dict[str, str] = {
    **dict.fromkeys(("negative", "neg", "n", "-", "阴性", "阴", "未检出"), ResultValue.NEGATIVE),
    **dict.fromkeys(("positive", "pos", "p", "+", "阳性", "阳", "检出"), ResultValue.POSITIVE),
    **dict.fromkeys(("invalid", "inv", "无效", "重采", "需重采"), ResultValue.INVALID),
}
NO_CT = {"", "-", "—", "n/a", "na", "none", "未检出", "无", "undetermined", "/"}

# Header spellings, compared after `_header_key` (lower case, no spaces, brackets or punctuation).
COLUMNS: dict[str, tuple[str, ...]] = {
    "barcode": (
        "barcode",
        "tube",
        "tubebarcode",
        "tubeid",
        "管号",
        "条码",
        "条码号",
        "试管条码",
        "采样管条码",
        "采样管编号",
        "样本编号",
        "样本条码",
        "标本条码",
        "混管编号",
    ),
    "result": ("result", "检测结果", "结果", "核酸结果", "检测结论"),
    "ct_orf1ab": ("ctorf1ab", "orf1ab", "orf1abct", "orf1ab基因", "orf1ab基因ct值", "orf1abct值", "ct值orf1ab"),
    "ct_n": ("ctn", "n", "nct", "n基因", "n基因ct值", "nct值", "ct值n"),
    "resulted_at": ("resultedat", "resulttime", "检测时间", "报告时间", "结果时间", "出结果时间", "检测日期"),
}
REQUIRED_COLUMNS = ("barcode", "result")
_LOCAL_TIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[\sT]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?秒?)?"
)
_HEADER_JUNK = re.compile(r"[\s_\-()（）\[\]【】:：.]+")


@dataclass(frozen=True)
class ResultRow:
    """One result as the lab sent it (raw values; `row` is its number in the file, or 1-based in an API call)."""

    row: int
    barcode: Any
    result: Any
    ct_orf1ab: Any = None
    ct_n: Any = None
    resulted_at: Any = None


@dataclass(frozen=True)
class _Checked:
    row: int
    tube: Tube
    result: str
    ct_orf1ab: Decimal | None
    ct_n: Decimal | None
    resulted_at: datetime


def _error(row: int | None, field: str, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "field": field, "code": code, "message": message}


def _header_key(header: str) -> str:
    return _HEADER_JUNK.sub("", normalize_text(header).lower())


def map_columns(headers: list[str]) -> dict[str, int] | list[dict[str, Any]]:
    """field → column index, or the errors (missing required columns, a field matched twice)."""
    wanted = {spelling: name for name, spellings in COLUMNS.items() for spelling in spellings}
    found: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for index, header in enumerate(headers):
        name = wanted.get(_header_key(header))
        if name is None:
            continue
        if name in found:
            errors.append(
                _error(
                    1,
                    "columns",
                    TestingErrorCode.COLUMNS,
                    _("Two columns hold %(field)s: %(a)s and %(b)s.")
                    % {"field": name, "a": headers[found[name]], "b": header},
                )
            )
            continue
        found[name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        errors.append(
            _error(
                1,
                "columns",
                TestingErrorCode.COLUMNS,
                _(
                    "The file has no column for %(fields)s (found: %(headers)s). Expected e.g. 管号/barcode, "
                    "结果/result, ORF1ab, N, 检测时间/resulted_at."
                )
                % {"fields": ", ".join(missing), "headers": ", ".join(headers)},
            )
        )
    return errors or found


def _parse_result(value: Any) -> str | None:
    return RESULT_WORDS.get(normalize_text(value).lower().replace(" ", ""))


def _parse_ct(value: Any) -> Decimal | None:
    """None for blank / not detected; raises ValueError for anything else that is not a Ct in 0–50."""
    if value is None or (isinstance(value, str) and normalize_text(value).lower() in NO_CT):
        return None
    if isinstance(value, bool):
        raise ValueError
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation as error:
        raise ValueError from error
    if not number.is_finite() or number <= 0 or number > CT_MAX:
        raise ValueError
    return number.quantize(Decimal("0.1"))


def _parse_time(value: Any, *, now: datetime) -> datetime:
    """An aware datetime (China time when the file gives none); blank is `now`. Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return now
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=CHINA_TIME_ZONE)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), tzinfo=CHINA_TIME_ZONE)
    text = normalize_text(value)
    match = _LOCAL_TIME.fullmatch(text)
    if match is None:
        parsed = datetime.fromisoformat(text)  # ISO 8601 with an offset, as an API client sends it
        return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=CHINA_TIME_ZONE)
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TIME_ZONE)


def check_rows(
    lab: Organization, rows: list[ResultRow], *, now: datetime
) -> tuple[list[_Checked], list[dict[str, Any]]]:
    """Every row's errors (row, field, code, message), or the checked rows when there are none. Reads only."""
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[ResultRow, str, str, Decimal | None, Decimal | None, datetime]] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            barcode = normalize_barcode(row.barcode)
        except CodeError as error:
            errors.append(_error(row.row, "barcode", str(error.code), error.message))
            continue
        if barcode in seen:
            errors.append(
                _error(
                    row.row,
                    "barcode",
                    TestingErrorCode.TUBE_REPEATED,
                    _("Tube %(barcode)s is also on row %(other)d.") % {"barcode": barcode, "other": seen[barcode]},
                )
            )
            continue
        seen[barcode] = row.row
        result = _parse_result(row.result)
        if result is None:
            errors.append(
                _error(
                    row.row,
                    "result",
                    TestingErrorCode.RESULT_VALUE,
                    _("Unknown result %(value)r: use negative/positive/invalid (阴性/阳性/无效).")
                    % {"value": row.result},
                )
            )
            continue
        cts: list[Decimal | None] = []
        for name in ("ct_orf1ab", "ct_n"):
            try:
                cts.append(_parse_ct(getattr(row, name)))
            except ValueError:
                errors.append(
                    _error(
                        row.row,
                        name,
                        TestingErrorCode.CT_VALUE,
                        _("Not a Ct value: %(value)r (a number above 0 and at most 50, or empty).")
                        % {"value": getattr(row, name)},
                    )
                )
        if len(cts) < 2:
            continue
        try:
            at = _parse_time(row.resulted_at, now=now)
        except (ValueError, TypeError):
            errors.append(
                _error(
                    row.row,
                    "resulted_at",
                    TestingErrorCode.RESULTED_AT,
                    _("Not a date and time: %(value)r.") % {"value": row.resulted_at},
                )
            )
            continue
        if at > now + FUTURE_SLACK:
            errors.append(
                _error(row.row, "resulted_at", TestingErrorCode.RESULTED_AT, _("The result time is in the future."))
            )
            continue
        parsed.append((row, barcode, result, cts[0], cts[1], at))

    tubes = {t.barcode: t for t in Tube.objects.filter(barcode__in=[p[1] for p in parsed])}
    resulted = set(TubeResult.objects.filter(tube__barcode__in=list(tubes)).values_list("tube__barcode", flat=True))
    checked: list[_Checked] = []
    for row, barcode, result, ct_orf1ab, ct_n, at in parsed:
        tube = tubes.get(barcode)
        if tube is None:
            errors.append(
                _error(
                    row.row,
                    "barcode",
                    TestingErrorCode.TUBE_UNKNOWN,
                    _("Tube %(barcode)s is unknown: it was never sampled.") % {"barcode": barcode},
                )
            )
        elif barcode in resulted or tube.status == TubeStatus.RESULTED:
            errors.append(
                _error(
                    row.row,
                    "barcode",
                    TestingErrorCode.ALREADY_RESULTED,
                    _("Tube %(barcode)s already has a result.") % {"barcode": barcode},
                )
            )
        elif tube.status != TubeStatus.RECEIVED:
            errors.append(
                _error(
                    row.row,
                    "barcode",
                    TestingErrorCode.TUBE_STATE,
                    _("Tube %(barcode)s was not received by a lab (status: %(status)s).")
                    % {"barcode": barcode, "status": TubeStatus(tube.status).label},
                )
            )
        elif tube.lab_id != lab.pk:
            errors.append(
                _error(
                    row.row,
                    "barcode",
                    TestingErrorCode.WRONG_LAB,
                    _("Tube %(barcode)s was received by another lab.") % {"barcode": barcode},
                )
            )
        elif tube.received_at is not None and at < tube.received_at:
            errors.append(
                _error(
                    row.row,
                    "resulted_at",
                    TestingErrorCode.RESULTED_AT,
                    _("The result time is before the lab received tube %(barcode)s.") % {"barcode": barcode},
                )
            )
        else:
            checked.append(_Checked(row.row, tube, result, ct_orf1ab, ct_n, at))
    errors.sort(key=lambda e: (e["row"] or 0, e["field"]))
    return checked, errors


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


def _apply(checked: list[_Checked], result_import: ResultImport, *, by: User | None, now: datetime) -> dict[str, int]:
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
        elif result.result == ResultValue.NEGATIVE:
            negatives.append(tube.pk)
    if negatives:
        counts["moved_to_tested"] = _move_negatives_to_tested(negatives, by=by)
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
                    _error(
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
            errors=[_error(None, "file", TestingErrorCode.INVALID, _("There are no result rows."))],
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
            errors=[_error(error.row, error.field or "file", str(error.code), str(error.message))],
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
            errors=[_error(None, "file", str(error.code), str(error.message))],
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
