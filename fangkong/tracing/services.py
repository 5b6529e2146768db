"""Cases, investigations and contacts. Classification, exposure windows, quarantine lengths and test days come
from the policy edition in force where the case lives; confirmed contacts enter the screening loop."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.editions import PolicyEdition, quarantine_date
from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.people.models import Person
from fangkong.screening import services as screening
from fangkong.screening.models import CloseReason, Reason, Source
from fangkong.tracing.models import (
    Case,
    CaseKind,
    Category,
    Clock,
    Contact,
    ContactStatus,
    InvestigationClock,
    Setting,
    TimelineEvent,
)
from fangkong.venues.selectors import CoVisitor, co_visitors


class TracingError(DomainError):
    default_code = ErrorCode.INVALID


def _require(user: User | None, capability: Capability) -> None:
    if user is not None and not user.can(capability):
        raise PermissionDeniedError()


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def infectious_period_start(case: Case, edition: PolicyEdition | None = None) -> date:
    """Contacts count from `lookback_days` before onset, or before the first positive sample when no onset."""
    edition = edition or active_edition(case.division_id)
    anchor = case.onset_date or _local_date(case.first_positive_at)
    if case.onset_date and _local_date(case.first_positive_at) < case.onset_date:
        anchor = _local_date(case.first_positive_at)
    return anchor - timedelta(days=edition.close_contact.lookback_days)


def _clock_hours(edition: PolicyEdition) -> dict[str, int]:
    rules = edition.investigation
    return {
        Clock.TRAJECTORY: rules.trajectory_hours,
        Clock.REVIEW: rules.review_hours,
        Clock.ZONING: rules.zoning_proposal_hours,
        Clock.CONTACT_LISTS: rules.contact_lists_hours,
    }


@transaction.atomic
def register_case(
    person: Person,
    *,
    kind: str,
    first_positive_at: datetime,
    by: User | None,
    onset_date: date | None = None,
    source_case: Case | None = None,
    cluster: str = "",
    reported_at: datetime | None = None,
) -> Case:
    """A new case: its investigation clocks start now; if the person was in the risk pool, their entry closes
    as "became a case"."""
    _require(by, Capability.TRACING_WORK)
    if by is not None and not is_in_scope(person.home_division_id, by):
        raise PermissionDeniedError()
    if kind not in CaseKind.values:
        raise TracingError(_("Choose confirmed or asymptomatic."), field="kind")
    reported_at = reported_at or timezone.now()
    if first_positive_at > reported_at:
        raise TracingError(_("The first positive sample cannot be in the future."), field="first_positive_at")
    if onset_date and onset_date > _local_date(reported_at):
        raise TracingError(_("The onset date cannot be in the future."), field="onset_date")
    if Case.objects.filter(person=person).exists():
        raise TracingError(_("This person is already a case."), field="person", code=ErrorCode.CONFLICT)
    edition = active_edition(person.home_division_id)
    number = f"C{_local_date(reported_at):%Y%m%d}-{secrets.token_hex(3).upper()}"
    try:
        with transaction.atomic():
            case = Case.objects.create(
                number=number,
                person=person,
                division_id=person.home_division_id,
                kind=kind,
                onset_date=onset_date,
                first_positive_at=first_positive_at,
                reported_at=reported_at,
                edition_id=edition.id,
                source_case=source_case,
                cluster=cluster or (source_case.cluster if source_case else number),
                created_by=by if by and by.pk else None,
            )
    except IntegrityError as error:
        raise TracingError(_("This person is already a case."), field="person", code=ErrorCode.CONFLICT) from error
    InvestigationClock.objects.bulk_create(
        [
            InvestigationClock(case=case, clock=clock, due_at=reported_at + timedelta(hours=hours))
            for clock, hours in _clock_hours(edition).items()
        ]
    )
    entry = screening._open_entry(person)
    if entry is not None:
        screening.close_entry(entry, reason=CloseReason.BECAME_CASE, by=by, note=case.number)
    audit.record(
        "tracing.case.register",
        by=by,
        target=case,
        division_path=case.division_id,
        changes={"kind": [None, kind], "number": [None, case.number]},
    )
    return case


@transaction.atomic
def complete_clock(case: Case, *, clock: str, by: User) -> InvestigationClock:
    _require(by, Capability.TRACING_WORK)
    if not is_in_scope(case.division_id, by):
        raise PermissionDeniedError()
    row = InvestigationClock.objects.select_for_update().get(case=case, clock=clock)
    if row.done_at is None:
        row.done_at = timezone.now()
        row.save(update_fields=["done_at"])
        audit.record(
            "tracing.clock.done", by=by, target=case, division_path=case.division_id, changes={clock: [None, "done"]}
        )
    return row


@transaction.atomic
def add_timeline_event(
    case: Case, *, starts_at: datetime, ends_at: datetime, kind: str, place: str, note: str = "", by: User
) -> TimelineEvent:
    _require(by, Capability.TRACING_WORK)
    if not is_in_scope(case.division_id, by):
        raise PermissionDeniedError()
    if ends_at < starts_at:
        raise TracingError(_("The end is before the start."), field="ends_at")
    if _local_date(ends_at) < infectious_period_start(case):
        raise TracingError(_("This is before the infectious period."), field="starts_at")
    if not place.strip():
        raise TracingError(_("Say where."), field="place")
    event = TimelineEvent.objects.create(
        case=case, starts_at=starts_at, ends_at=ends_at, kind=kind, place=place.strip(), note=note, recorded_by=by
    )
    audit.record(
        "tracing.timeline.add", by=by, target=case, division_path=case.division_id, changes={"place": [None, place]}
    )
    return event


def _plan(contact: Contact, edition: PolicyEdition) -> None:
    """Quarantine and test dates, counted from the last exposure ('day 0'), as the edition says."""
    exposure = _local_date(contact.last_exposure_at or timezone.now())
    contact.edition_id = edition.id
    if contact.category == Category.CLOSE:
        rules = edition.close_contact
        contact.quarantine_setting = "centralized"
        contact.quarantine_until = quarantine_date(exposure, rules.centralized_days)
        contact.monitoring_until = contact.quarantine_until + timedelta(days=rules.home_monitoring_days)
        tests = [quarantine_date(exposure, d) for d in rules.centralized_test_days]
        tests += [contact.quarantine_until + timedelta(days=d) for d in rules.home_monitoring_test_days]
    else:
        secondary = edition.secondary_contact
        contact.quarantine_setting = secondary.setting
        contact.quarantine_until = quarantine_date(exposure, secondary.quarantine_days)
        contact.monitoring_until = None
        tests = [quarantine_date(exposure, d) for d in secondary.test_days]
    contact.test_dates = [d.isoformat() for d in tests]


def _household_of(person: Person) -> list[Person]:
    """People of the same household (by the registry's household key, else the same address)."""
    if person.household_key:
        same = Person.objects.filter(household_key=person.household_key)
    elif person.address:
        same = Person.objects.filter(address=person.address, home_division=person.home_division)
    else:
        return []
    return list(same.filter(merged_into=None).exclude(pk=person.pk).order_by("pk")[:30])


def _colleagues_of(person: Person) -> list[tuple[str, Person]]:
    """Classmates and co-workers: same class, same workplace (capped: a big employer is not one room)."""
    found: list[tuple[str, Person]] = []
    if person.class_key:
        found += [
            (Setting.SCHOOL, p) for p in Person.objects.filter(class_key=person.class_key).exclude(pk=person.pk)[:60]
        ]
    if person.workplace_key:
        found += [
            (Setting.WORK, p)
            for p in Person.objects.filter(workplace_key=person.workplace_key).exclude(pk=person.pk)[:30]
        ]
    return found


def infectious_window(case: Case) -> tuple[datetime, datetime]:
    """The case's infectious period as moments: from the start of its first day to the case's report."""
    start = datetime.combine(infectious_period_start(case), time.min, tzinfo=timezone.get_current_timezone())
    return start, max(case.reported_at, start)


def _local_minute(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M")


def venue_evidence(visitor: CoVisitor) -> str:
    """'<venue> (<code>): case 08-03 14:00–15:10, contact 08-03 14:30–15:30, 40 min together' — the longest
    shared stay, and the total when there were several (fits the contact's evidence column)."""
    longest = visitor.longest
    text = str(
        _(
            "%(venue)s (%(code)s): case %(case_from)s–%(case_until)s, contact %(from)s–%(until)s, "
            "%(minutes)d min together"
        )
        % {
            "venue": longest.venue_name[:60],
            "code": longest.venue_code,
            "case_from": _local_minute(longest.stay.starts_at),
            "case_until": _local_minute(longest.stay.ends_at),
            "from": _local_minute(longest.other.starts_at),
            "until": _local_minute(longest.other.ends_at),
            "minutes": round(longest.minutes),
        }
    )
    if len(visitor.overlaps) > 1:
        text += str(
            _("; %(count)d shared stays, %(minutes)d min in all")
            % {"count": len(visitor.overlaps), "minutes": round(visitor.minutes)}
        )
    return text[:300]


@transaction.atomic
def suggest_contacts(case: Case, *, by: User | None) -> list[Contact]:
    """Suggestions an investigator confirms one by one: household members, classmates and co-workers, and
    people whose venue check-ins overlapped the case's in its infectious period (with the venue, both stays and
    the minutes shared as evidence, and the end of the last shared stay as the exposure). Spatio-temporal
    companions are added by the companion job (`tracing.companions`). Safe to run again: a person already
    suggested, confirmed or rejected on this case is left as they are."""
    made = []
    candidates = [(Setting.HOUSEHOLD, member) for member in _household_of(case.person)] + _colleagues_of(case.person)
    evidence: dict[str, str] = {
        Setting.HOUSEHOLD: str(_("same household")),
        Setting.SCHOOL: str(_("same class")),
        Setting.WORK: str(_("same workplace")),
    }
    for setting, member in candidates:
        contact, created = Contact.objects.get_or_create(
            case=case,
            person=member,
            category=Category.CLOSE,
            defaults={"setting": setting, "status": ContactStatus.SUGGESTED, "evidence": evidence[setting]},
        )
        if created:
            made.append(contact)
    start, end = infectious_window(case)
    for visitor in co_visitors(case.person_id, start=start, end=end):
        contact, created = Contact.objects.get_or_create(
            case=case,
            person_id=visitor.person_id,
            category=Category.CLOSE,
            defaults={
                "setting": Setting.VENUE,
                "status": ContactStatus.SUGGESTED,
                "evidence": venue_evidence(visitor),
                "last_exposure_at": visitor.last_overlap_end,
            },
        )
        if created:
            made.append(contact)
    if made:
        audit.record(
            "tracing.contacts.suggest",
            by=by,
            target=case,
            division_path=case.division_id,
            changes={"suggested": [0, len(made)]},
        )
    return made


@transaction.atomic
def confirm_contact(
    case: Case,
    *,
    person: Person,
    by: User,
    setting: str = Setting.OTHER,
    last_exposure_at: datetime | None = None,
    evidence: str = "",
    category: str = Category.CLOSE,
    via: Contact | None = None,
) -> Contact:
    """Confirm a contact: classify it, fix its quarantine and test dates from the edition, put the person in the
    screening loop, and (for close contacts, where the edition asks) derive secondary-contact suggestions."""
    _require(by, Capability.TRACING_WORK)
    if not is_in_scope(case.division_id, by):
        raise PermissionDeniedError()
    if person.pk == case.person_id:
        raise TracingError(_("A case is not its own contact."), field="person")
    edition = active_edition(case.division_id)
    if category == Category.SECONDARY:
        if not edition.secondary_contact.identified:
            raise TracingError(_("The policy in force does not identify secondary contacts."), field="category")
        if via is None or via.category != Category.CLOSE:
            raise TracingError(_("A secondary contact comes through a close contact."), field="via")
    contact = Contact.objects.select_for_update().filter(case=case, person=person, category=category).first()
    if contact is None:
        contact = Contact(case=case, person=person, category=category, via=via)
    old_status = contact.status or None
    contact.setting = setting if setting in Setting.values else Setting.OTHER
    contact.status = ContactStatus.CONFIRMED
    contact.last_exposure_at = last_exposure_at or contact.last_exposure_at or case.reported_at
    contact.evidence = evidence or contact.evidence
    contact.decided_by, contact.decided_at = by, timezone.now()
    _plan(contact, edition)
    contact.save()
    reason = Reason.CLOSE_CONTACT if category == Category.CLOSE else Reason.SECONDARY_CONTACT
    screening.list_person(
        person,
        reason=reason,
        source=Source.INVESTIGATION,
        reference=f"{case.number}:{category}:{person.pk}",
        by=None,
        data={"case": case.number, "setting": contact.setting},
    )
    audit.record(
        "tracing.contact.confirm",
        by=by,
        target=contact,
        division_path=case.division_id,
        changes={"status": [old_status, "confirmed"], "category": [None, category]},
    )
    if (
        category == Category.CLOSE
        and edition.secondary_contact.identified
        and edition.secondary_contact.derivation_depth >= 2
    ):
        around = [(Setting.HOUSEHOLD, m) for m in _household_of(person)] + _colleagues_of(person)
        for setting, member in around:
            if member.pk == case.person_id or member.pk == person.pk:
                continue
            Contact.objects.get_or_create(
                case=case,
                person=member,
                category=Category.SECONDARY,
                defaults={
                    "via": contact,
                    "setting": setting,
                    "status": ContactStatus.SUGGESTED,
                    "evidence": str(_("lives, works or studies with a close contact")),
                },
            )
    return contact


@transaction.atomic
def reject_contact(contact: Contact, *, by: User, reason: str = "") -> Contact:
    _require(by, Capability.TRACING_WORK)
    if not is_in_scope(contact.case.division_id, by):
        raise PermissionDeniedError()
    if contact.status == ContactStatus.CONFIRMED:
        raise TracingError(_("A confirmed contact cannot be rejected here."), field="status")
    contact.status = ContactStatus.REJECTED
    contact.decided_by, contact.decided_at = by, timezone.now()
    contact.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record("tracing.contact.reject", by=by, target=contact, division_path=contact.case.division_id, reason=reason)
    return contact


def escalate_overdue_clocks(*, now: datetime | None = None) -> int:
    """Missed investigation clocks go to the county HQ: recorded once per clock and sent by SMS to the county
    HQ officers who have a mobile number. Safe to run every minute."""
    from fangkong.core.models import User as Account
    from fangkong.core.roles import Role
    from fangkong.notify.services import send_sms

    now = now or timezone.now()
    escalated = 0
    overdue = InvestigationClock.objects.filter(done_at__isnull=True, escalated_at__isnull=True, due_at__lt=now)
    for row in overdue.select_related("case"):
        with transaction.atomic():
            if not InvestigationClock.objects.filter(pk=row.pk, escalated_at__isnull=True).update(escalated_at=now):
                continue  # another worker took it
            county = row.case.division_id[:6]
            audit.record(
                "tracing.clock.escalate",
                by=None,
                target=row.case,
                division_path=row.case.division_id,
                changes={row.clock: ["due", "overdue"]},
            )
            officers = Account.objects.filter(role=Role.COUNTY_HQ, division__path=county, is_active=True).exclude(
                phone=""
            )
            for officer in officers:
                send_sms(
                    officer.phone,
                    template="notice",
                    context={"text": f"{row.case.number} {Clock(row.clock).label} overdue"},
                    division_path=county,
                    idempotency_key=f"escalate:{row.pk}:{officer.pk}",
                )
            escalated += 1
    return escalated
