"""Twice-daily monitoring: temperature and symptoms entered by floor staff or self-reported through a signed link,
the reminders that carry the link, the non-reporting list, and alerts that start the fever workflow.

The check-in times, the fever line and the reporting deadline come from the policy edition in force where the
placement is (`edition.quarantine_monitoring`); the readings' plausible range is the table's own check
(`models.TEMPERATURE_MIN_C`..`TEMPERATURE_MAX_C`), so 60 °C is refused here with the row and field named and
refused again by the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.editions import PolicyEdition, quarantine_day
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.scope import scoped
from fangkong.notify.services import send_sms
from fangkong.quarantine.models import (
    TEMPERATURE_MAX_C,
    TEMPERATURE_MIN_C,
    AlertKind,
    AlertStatus,
    Floor,
    MonitoringAlert,
    Placement,
    PlacementStatus,
    Reading,
    ReadingSlot,
    ReadingSource,
    ScheduledTest,
    StaffMember,
    StaffRole,
    TestKind,
    TestPhase,
    TestStatus,
)
from fangkong.quarantine.services.care_errors import CareError, CareErrorCode, require_work

SYMPTOMS: dict[str, Promise] = {
    "cough": _("Cough"),
    "sore_throat": _("Sore throat"),
    "fatigue": _("Fatigue"),
    "muscle_ache": _("Muscle ache"),
    "short_of_breath": _("Shortness of breath"),
    "loss_of_smell_or_taste": _("Loss of smell or taste"),
    "diarrhoea": _("Diarrhoea"),
    "runny_nose": _("Runny or blocked nose"),
    "other": _("Other symptom"),
}
SLOTS: tuple[str, ...] = tuple(ReadingSlot.values)  # the edition's check-in times map onto these, in order
LINK_SALT = "fangkong.quarantine.self_report"
LINK_VALID_SECONDS = 36 * 3600  # the day of the check-in and the following morning


# ----------------------------------------------------------------------------------------------- parsing


def parse_temperature(raw: str) -> Decimal:
    """A typed body temperature as one decimal (°C); raises CareError for malformed or implausible values."""
    text = (raw or "").strip().replace(",", ".").replace("，", ".").replace("。", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value.as_tuple().exponent < -1:  # type: ignore[operator]
        raise CareError(
            _("“%(value)s” is not a temperature: type it as 36.5.") % {"value": raw[:20]},
            code=CareErrorCode.TEMPERATURE,
            field="temperature",
        )
    if not Decimal(str(TEMPERATURE_MIN_C)) <= value <= Decimal(str(TEMPERATURE_MAX_C)):
        raise CareError(
            _("%(value)s °C is not a body temperature (%(low)s–%(high)s °C).")
            % {"value": value, "low": TEMPERATURE_MIN_C, "high": TEMPERATURE_MAX_C},
            code=CareErrorCode.TEMPERATURE,
            field="temperature",
        )
    return value.quantize(Decimal("0.1"))


def parse_symptoms(values: Iterable[str]) -> list[str]:
    chosen = [value for value in dict.fromkeys(v.strip() for v in values) if value]
    unknown = [value for value in chosen if value not in SYMPTOMS]
    if unknown:
        raise CareError(
            _("Unknown symptom: %(value)s.") % {"value": unknown[0][:30]}, code=CareErrorCode.SYMPTOM, field="symptoms"
        )
    return chosen


def is_abnormal(temperature: Decimal, symptoms: Sequence[str], edition: PolicyEdition) -> bool:
    return float(temperature) >= edition.quarantine_monitoring.fever_threshold_celsius or bool(symptoms)


def check_in_times(edition: PolicyEdition) -> dict[str, time]:
    """Slot → local check-in time, from the edition (the first two times: morning, afternoon)."""
    return {
        slot: time(int(hhmm[:2]), int(hhmm[3:]))
        for slot, hhmm in zip(SLOTS, edition.quarantine_monitoring.check_in_times, strict=False)
    }


def _local_moment(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at), timezone.get_default_timezone())


# ------------------------------------------------------------------------------------- alerts and fever


def _phase_on(placement: Placement, day: date) -> str:
    return TestPhase.QUARANTINE if day <= placement.quarantine_end else TestPhase.MONITORING


def _medical_staff(placement: Placement) -> QuerySet[StaffMember]:
    """The site's medical staff, while the person is at the site (after release, their community follows up)."""
    if placement.site_id is None or placement.status not in (PlacementStatus.WAITING, PlacementStatus.PLACED):
        return StaffMember.objects.none()
    return StaffMember.objects.filter(site_id=placement.site_id, role=StaffRole.MEDICAL, is_active=True).exclude(
        phone=""
    )


def raise_alert(
    placement: Placement, *, kind: str, by: User | None, reading: Reading | None = None, note: str = ""
) -> MonitoringAlert:
    """Record an alert for the site's medical staff and text them. A fever or symptoms alert starts the fever
    workflow: a test due now (one open fever test per placement is enough)."""
    now = timezone.now()
    test = None
    if kind in (AlertKind.FEVER, AlertKind.SYMPTOMS):
        today = timezone.localdate(now)
        test = ScheduledTest.objects.filter(placement=placement, kind=TestKind.FEVER, status=TestStatus.DUE).first()
        if test is None:
            test = ScheduledTest.objects.create(
                placement=placement,
                kind=TestKind.FEVER,
                phase=_phase_on(placement, today),
                day_number=quarantine_day(placement.start_date, today),
                due_on=today,
            )
            audit.record(
                "quarantine.test.fever",
                by=by,
                target=test,
                division_path=placement.division_id,
                changes={"due_on": [None, today.isoformat()], "kind": [None, TestKind.FEVER]},
            )
    alert = MonitoringAlert.objects.create(
        placement=placement, kind=kind, reading=reading, test=test, raised_at=now, note=note[:300]
    )
    audit.record(
        "quarantine.alert.raise",
        by=by,
        target=alert,
        division_path=placement.division_id,
        changes={"kind": [None, kind], "reading": [None, reading.pk if reading else None]},
    )
    room = placement.room.number if placement.room_id and placement.room else "-"
    site = placement.site.name if placement.site_id and placement.site else ""
    for staff in _medical_staff(placement):
        send_sms(
            staff.phone,
            template="quarantine_alert",
            context={"site": site, "room": room, "kind": str(AlertKind(kind).label)},
            by=by,
            division_path=placement.division_id,
            idempotency_key=f"quarantine-alert:{alert.pk}:{staff.pk}",
        )
    return alert


@transaction.atomic
def acknowledge_alert(alert: MonitoringAlert, *, by: User, close: bool = False, note: str = "") -> MonitoringAlert:
    require_work(by, alert.placement.division_id)
    alert = MonitoringAlert.objects.select_for_update().get(pk=alert.pk)
    old = alert.status
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, by
    alert.status = AlertStatus.CLOSED if close else AlertStatus.ACKNOWLEDGED
    if close:
        alert.closed_at = now
    if note:
        alert.note = note[:300]
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "status", "closed_at", "note"])
    audit.record(
        "quarantine.alert.close" if close else "quarantine.alert.acknowledge",
        by=by,
        target=alert,
        division_path=alert.placement.division_id,
        changes={"status": [old, alert.status]},
        reason=note,
    )
    return alert


# -------------------------------------------------------------------------------------------- readings


def _save_reading(
    placement: Placement,
    *,
    on: date,
    slot: str,
    temperature: Decimal,
    symptoms: list[str],
    source: str,
    by: User | None,
    edition: PolicyEdition,
    now: datetime,
) -> tuple[Reading, MonitoringAlert | None]:
    abnormal = is_abnormal(temperature, symptoms, edition)
    existing = Reading.objects.select_for_update().filter(placement=placement, on=on, slot=slot).first()
    old: dict[str, Any] = {}
    if existing is None:
        reading = Reading.objects.create(
            placement=placement,
            on=on,
            slot=slot,
            taken_at=now,
            temperature=temperature,
            symptoms=symptoms,
            is_abnormal=abnormal,
            source=source,
            recorded_by=by if by is not None and by.pk else None,
        )
    else:
        reading = existing
        old = {"temperature": str(reading.temperature), "symptoms": reading.symptoms}
        was_abnormal = reading.is_abnormal
        reading.temperature, reading.symptoms, reading.is_abnormal = temperature, symptoms, abnormal
        reading.taken_at, reading.source = now, source
        reading.recorded_by = by if by is not None and by.pk else None
        reading.save(update_fields=["temperature", "symptoms", "is_abnormal", "taken_at", "source", "recorded_by"])
        abnormal = abnormal and not was_abnormal  # a corrected reading alerts only when it becomes abnormal
    audit.record(
        "quarantine.reading.update" if existing else "quarantine.reading.record",
        by=by,
        target=reading,
        division_path=placement.division_id,
        changes=audit.diff(old, {"temperature": str(temperature), "symptoms": symptoms}),
    )
    alert = None
    if abnormal:
        fever = float(temperature) >= edition.quarantine_monitoring.fever_threshold_celsius
        alert = raise_alert(
            placement,
            kind=AlertKind.FEVER if fever else AlertKind.SYMPTOMS,
            by=by,
            reading=reading,
            note=f"{temperature} °C {' '.join(symptoms)}".strip(),
        )
    return reading, alert


@dataclass(frozen=True)
class ReadingRow:
    """One line of the floor screen as typed: which placement, the temperature text, the symptoms chosen."""

    placement_id: int
    temperature: str
    symptoms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FloorEntry:
    saved: int
    skipped: int
    alerts: list[MonitoringAlert]


def floor_placements(floor: Floor) -> QuerySet[Placement]:
    """People in quarantine on a floor, by room (companions after the room's holder)."""
    return (
        Placement.objects.filter(room__floor=floor, status=PlacementStatus.PLACED)
        .select_related("person", "room")
        .order_by("room__number", "share_reason", "id")
    )


@transaction.atomic
def record_floor_readings(
    floor: Floor, *, on: date, slot: str, rows: Sequence[ReadingRow], by: User, now: datetime | None = None
) -> FloorEntry:
    """A floor's readings in one submission: all rows are checked first and nothing is saved if any is wrong —
    the error names the row (1-based), the room and the field. Rows left blank are skipped (still due)."""
    site = floor.building.site
    require_work(by, site.division_id)
    if slot not in SLOTS:
        raise CareError(_("Choose morning or afternoon."), code=CareErrorCode.INVALID, field="slot")
    now = now or timezone.now()
    if on > timezone.localdate(now):
        raise CareError(_("Readings cannot be entered for a future day."), code=CareErrorCode.INVALID, field="on")
    placements = {p.pk: p for p in floor_placements(floor)}
    problems: list[dict[str, Any]] = []
    checked: list[tuple[Placement, Decimal, list[str]]] = []
    for number, row in enumerate(rows, start=1):
        placement = placements.get(row.placement_id)
        room = placement.room.number if placement is not None and placement.room else "?"
        try:
            if placement is None:
                raise CareError(
                    _("This person is not in quarantine on this floor."),
                    code=CareErrorCode.NOT_ON_FLOOR,
                    field="placement",
                )
            symptoms = parse_symptoms(row.symptoms)
            if not row.temperature.strip():
                if symptoms:
                    raise CareError(
                        _("Enter the temperature with the symptoms."),
                        code=CareErrorCode.TEMPERATURE,
                        field="temperature",
                    )
                continue
            checked.append((placement, parse_temperature(row.temperature), symptoms))
        except CareError as error:
            problems.append(
                {
                    "row": number,
                    "room": room,
                    "field": error.field,
                    "code": str(error.code),
                    "message": str(error.message),
                }
            )
    if problems:
        first = problems[0]
        raise CareError(
            _("Row %(row)s, room %(room)s: %(message)s Nothing was saved.") % first,
            code=CareErrorCode(first["code"]),
            field=first["field"],
            row=first["row"],
            details=problems,
        )
    alerts = []
    editions: dict[str, PolicyEdition] = {}
    for placement, temperature, symptoms in checked:
        edition = editions.setdefault(placement.division_id, active_edition(placement.division_id))
        _reading, alert = _save_reading(
            placement,
            on=on,
            slot=slot,
            temperature=temperature,
            symptoms=symptoms,
            source=ReadingSource.STAFF,
            by=by,
            edition=edition,
            now=now,
        )
        if alert is not None:
            alerts.append(alert)
    return FloorEntry(saved=len(checked), skipped=len(rows) - len(checked), alerts=alerts)


# ------------------------------------------------------------------------------------------ self-report


@dataclass(frozen=True)
class ReportLink:
    placement: Placement
    on: date
    slot: str


def report_token(placement: Placement, *, on: date, slot: str) -> str:
    return signing.dumps({"p": placement.pk, "d": on.isoformat(), "s": slot}, salt=LINK_SALT, compress=True)


def report_url(placement: Placement, *, on: date, slot: str) -> str:
    path = reverse("quarantine:self_report", kwargs={"token": report_token(placement, on=on, slot=slot)})
    return getattr(settings, "FANGKONG_PUBLIC_URL", "").rstrip("/") + path


def open_report_link(token: str) -> ReportLink:
    """The placement, day and slot a self-report link is for; expired, forged or ended → LINK_INVALID."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_VALID_SECONDS)
        placement = Placement.objects.select_related("person").get(pk=int(data["p"]))
        link = ReportLink(placement=placement, on=date.fromisoformat(data["d"]), slot=str(data["s"]))
    except (signing.BadSignature, Placement.DoesNotExist, KeyError, ValueError, TypeError) as error:
        raise CareError(
            _("This link is not valid or has expired."), code=CareErrorCode.LINK_INVALID, field="token"
        ) from error
    if link.placement.status != PlacementStatus.PLACED or link.slot not in SLOTS:
        raise CareError(_("This link is not valid or has expired."), code=CareErrorCode.LINK_INVALID, field="token")
    return link


@transaction.atomic
def record_self_report(
    link: ReportLink, *, temperature: str, symptoms: Iterable[str], now: datetime | None = None
) -> tuple[Reading, MonitoringAlert | None]:
    """A resident's own reading through their link. Once the slot has a reading, the link is used up."""
    now = now or timezone.now()
    value = parse_temperature(temperature)
    chosen = parse_symptoms(symptoms)
    placement = Placement.objects.select_for_update().get(pk=link.placement.pk)
    if Reading.objects.filter(placement=placement, on=link.on, slot=link.slot).exists():
        raise CareError(
            _("A reading for this time is already recorded."), code=CareErrorCode.ALREADY_REPORTED, field="token"
        )
    return _save_reading(
        placement,
        on=link.on,
        slot=link.slot,
        temperature=value,
        symptoms=chosen,
        source=ReadingSource.SELF_REPORT,
        by=None,
        edition=active_edition(placement.division_id),
        now=now,
    )


def send_check_in_links(now: datetime | None = None) -> int:
    """Text each person in quarantine their self-report link once a check-in time has come (until the reporting
    deadline passes). Safe to run any number of times: one message per placement, day and slot (idempotency
    key), and nobody who has already reported is texted."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    placements = list(
        Placement.objects.filter(status=PlacementStatus.PLACED)
        .exclude(person__phone="")
        .select_related("person")
        .only("pk", "division_id", "person__phone", "status")
    )
    reported = set(
        Reading.objects.filter(on=today, placement__in=[p.pk for p in placements]).values_list("placement_id", "slot")
    )
    editions: dict[str, PolicyEdition] = {}
    sent = 0
    for placement in placements:
        edition = editions.setdefault(placement.division_id, active_edition(placement.division_id))
        window = timedelta(minutes=edition.quarantine_monitoring.report_within_minutes)
        for slot, at in check_in_times(edition).items():
            start = _local_moment(today, at)
            if not start <= now < start + window or (placement.pk, slot) in reported:
                continue
            with transaction.atomic():
                send_sms(
                    placement.person.phone,
                    template="quarantine_check_in",
                    context={"slot": str(ReadingSlot(slot).label), "url": report_url(placement, on=today, slot=slot)},
                    division_path=placement.division_id,
                    idempotency_key=f"quarantine-check-in:{placement.pk}:{today.isoformat()}:{slot}",
                )
            sent += 1
    return sent


# ----------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class NonReporter:
    placement: Placement
    slot: str
    due_by: datetime


def non_reporting(
    user: User, *, now: datetime | None = None, site_id: int | None = None, kind: str | None = None
) -> list[NonReporter]:
    """People in quarantine in the user's jurisdiction with no reading for a check-in whose deadline has passed
    today (those placed after the check-in time are not expected for it), for staff to call."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    placements = scoped(Placement.objects.filter(status=PlacementStatus.PLACED), user).select_related(
        "person", "room", "site"
    )
    if site_id is not None:
        placements = placements.filter(site_id=site_id)
    if kind is not None:
        placements = placements.filter(kind=kind)
    rows = list(placements.order_by("site__name", "room__number", "id"))
    reported = set(
        Reading.objects.filter(on=today, placement__in=[p.pk for p in rows]).values_list("placement_id", "slot")
    )
    editions: dict[str, PolicyEdition] = {}
    missing = []
    for placement in rows:
        edition = editions.setdefault(placement.division_id, active_edition(placement.division_id))
        window = timedelta(minutes=edition.quarantine_monitoring.report_within_minutes)
        for slot, at in check_in_times(edition).items():
            start = _local_moment(today, at)
            placed_at = placement.placed_at or placement.created_at
            if now < start + window or placed_at > start or (placement.pk, slot) in reported:
                continue
            missing.append(NonReporter(placement=placement, slot=slot, due_by=start + window))
    return missing


def open_alerts(user: User, *, site_id: int | None = None) -> QuerySet[MonitoringAlert]:
    alerts = scoped(MonitoringAlert.objects.exclude(status=AlertStatus.CLOSED), user).select_related(
        "placement__person", "placement__room", "placement__site", "reading", "test"
    )
    return alerts.filter(placement__site_id=site_id) if site_id is not None else alerts


def readings_for(floor: Floor, *, on: date, slot: str) -> dict[int, Reading]:
    return {
        reading.placement_id: reading
        for reading in Reading.objects.filter(placement__room__floor=floor, on=on, slot=slot)
    }


def current_slot(edition: PolicyEdition, now: datetime | None = None) -> str:
    """The check-in slot a screen opened at `now` is most likely for: the last whose time has come."""
    now = now or timezone.now()
    local = timezone.localtime(now).time()
    slot = SLOTS[0]
    for name, at in check_in_times(edition).items():
        if local >= at:
            slot = name
    return slot
