"""Reading lab results: the columns of a lab file matched by their headers, and every row checked before anything
is written — the barcode's format, a tube the platform knows, received by this lab and not yet resulted, the
same tube not twice in the file, the result (negative / positive / invalid, in English or Chinese), Ct values
(ORF1ab, N) between 0 and 50 when given, and the result time (not in the future, not before the lab received the
tube). Reads only; `results` applies what passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.models import Organization
from fangkong.core.text import CHINA_TIME_ZONE, normalize_text
from fangkong.testing.codes import CodeError, normalize_barcode
from fangkong.testing.models import ResultValue, Tube, TubeResult, TubeStatus
from fangkong.testing.services.common import TestingErrorCode

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
class CheckedRow:
    """A row that passed every check, with its tube and parsed values."""

    row: int
    tube: Tube
    result: str
    ct_orf1ab: Decimal | None
    ct_n: Decimal | None
    resulted_at: datetime


def row_error(row: int | None, field: str, code: str, message: str) -> dict[str, Any]:
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
                row_error(
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
            row_error(
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
) -> tuple[list[CheckedRow], list[dict[str, Any]]]:
    """Every row's errors (row, field, code, message), or the checked rows when there are none. Reads only."""
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[ResultRow, str, str, Decimal | None, Decimal | None, datetime]] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            barcode = normalize_barcode(row.barcode)
        except CodeError as error:
            errors.append(row_error(row.row, "barcode", str(error.code), error.message))
            continue
        if barcode in seen:
            errors.append(
                row_error(
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
                row_error(
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
                    row_error(
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
                row_error(
                    row.row,
                    "resulted_at",
                    TestingErrorCode.RESULTED_AT,
                    _("Not a date and time: %(value)r.") % {"value": row.resulted_at},
                )
            )
            continue
        if at > now + FUTURE_SLACK:
            errors.append(
                row_error(row.row, "resulted_at", TestingErrorCode.RESULTED_AT, _("The result time is in the future."))
            )
            continue
        parsed.append((row, barcode, result, cts[0], cts[1], at))

    tubes = {t.barcode: t for t in Tube.objects.filter(barcode__in=[p[1] for p in parsed])}
    resulted = set(TubeResult.objects.filter(tube__barcode__in=list(tubes)).values_list("tube__barcode", flat=True))
    checked: list[CheckedRow] = []
    for row, barcode, result, ct_orf1ab, ct_n, at in parsed:
        tube = tubes.get(barcode)
        if tube is None:
            errors.append(
                row_error(
                    row.row,
                    "barcode",
                    TestingErrorCode.TUBE_UNKNOWN,
                    _("Tube %(barcode)s is unknown: it was never sampled.") % {"barcode": barcode},
                )
            )
        elif barcode in resulted or tube.status == TubeStatus.RESULTED:
            errors.append(
                row_error(
                    row.row,
                    "barcode",
                    TestingErrorCode.ALREADY_RESULTED,
                    _("Tube %(barcode)s already has a result.") % {"barcode": barcode},
                )
            )
        elif tube.status != TubeStatus.RECEIVED:
            errors.append(
                row_error(
                    row.row,
                    "barcode",
                    TestingErrorCode.TUBE_STATE,
                    _("Tube %(barcode)s was not received by a lab (status: %(status)s).")
                    % {"barcode": barcode, "status": TubeStatus(tube.status).label},
                )
            )
        elif tube.lab_id != lab.pk:
            errors.append(
                row_error(
                    row.row,
                    "barcode",
                    TestingErrorCode.WRONG_LAB,
                    _("Tube %(barcode)s was received by another lab.") % {"barcode": barcode},
                )
            )
        elif tube.received_at is not None and at < tube.received_at:
            errors.append(
                row_error(
                    row.row,
                    "resulted_at",
                    TestingErrorCode.RESULTED_AT,
                    _("The result time is before the lab received tube %(barcode)s.") % {"barcode": barcode},
                )
            )
        else:
            checked.append(CheckedRow(row.row, tube, result, ct_orf1ab, ct_n, at))
    errors.sort(key=lambda e: (e["row"] or 0, e["field"]))
    return checked, errors
