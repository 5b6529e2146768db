"""A resident's self-report, in two steps: `request_code` checks the report and sends a one-time code to the
phone; `submit_self_report` checks the code and saves the report.

Saving resolves the resident onto the registry (`people.services.register_person`, as a public channel),
lists them in the risk pool (`screening.services.list_person`, reason arrival, source self-report) with the
community they report routing the work, and keeps a SelfReport row with the confirmation number the resident
takes away. Every write of one report is one transaction.

Idempotent: each filled-in form carries a random submission token (made when the code is sent); a keyed hash of
the token and the details is kept with the ledger's report, so the same form sent twice (a double tap, a retry
after a lost answer) finds the first report and writes nothing, while the same token with edited details is a
new report. The code's try is committed even when the code is wrong, so the limit of tries cannot be dodged by
failing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import DomainError, ErrorCode
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Division, DivisionLevel
from fangkong.notify import otp
from fangkong.people.models import DocumentKind
from fangkong.people.services import register_person
from fangkong.people.validation import PersonInput, PersonValidationError, validate_person_input
from fangkong.screening.models import Reason, RiskReport, SelfReport, Source
from fangkong.screening.services import list_person, masked_report_data, reroute

OTP_PURPOSE = "self_report"
CONFIRMATION_PREFIX = "ZB"  # 自报
# No 0/O or 1/I: the number is read aloud on the phone and copied by hand.
CONFIRMATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CONFIRMATION_SUFFIX_LENGTH = 6
# A sanity bound on the arrival date, against a mistyped year: not epidemic policy (which arrivals matter is the
# edition's lookback, applied by the community worker), only "this cannot be what you meant".
OLDEST_ARRIVAL = dt.timedelta(days=366)


class SelfReportError(DomainError):
    default_code = ErrorCode.INVALID


@dataclass(frozen=True)
class SelfReportInput:
    """The public form as typed (raw strings allowed)."""

    name: str
    document_kind: str
    document_number: str
    phone: str
    origin_name: str
    arrived_on: dt.date | None
    community: str  # the community's path
    address: str


@dataclass(frozen=True)
class ValidSelfReport:
    person: PersonInput  # normalised
    community: Division
    phone: str
    document_number: str
    origin_name: str
    arrived_on: dt.date
    address: str


@dataclass(frozen=True)
class Receipt:
    """What the confirmation page shows: the number and the identity, masked."""

    confirmation: str
    name: str
    document_number: str
    phone: str
    community: str
    origin_name: str
    arrived_on: dt.date


@dataclass(frozen=True)
class SelfReportResult:
    report: SelfReport
    created: bool  # False: this form had already been saved, and this is that report
    receipt: Receipt


def _required(value: str, field: str, message: str | Promise) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise SelfReportError(message, field=field)
    return cleaned


def validate_self_report(data: SelfReportInput, *, today: dt.date | None = None) -> ValidSelfReport:
    """Check everything before anything is written; each error names its field."""
    today = today or timezone.localdate()
    _required(data.name, "name", _("Enter your name."))
    _required(data.document_number, "document_number", _("Enter your ID number or other document number."))
    _required(data.phone, "phone", _("Enter your mobile number: the code is sent to it."))
    origin_name = _required(data.origin_name, "origin_name", _("Say where you came from."))[:100]
    address = _required(data.address, "address", _("Enter the address where you are staying."))[:300]
    if data.arrived_on is None:
        raise SelfReportError(_("Enter the date you arrived."), field="arrived_on")
    if data.arrived_on > today:
        raise SelfReportError(_("The arrival date cannot be in the future."), field="arrived_on")
    if data.arrived_on < today - OLDEST_ARRIVAL:
        raise SelfReportError(_("The arrival date is more than a year ago; check the year."), field="arrived_on")
    community = Division.objects.filter(path=(data.community or "").strip(), level=DivisionLevel.COMMUNITY).first()
    if community is None:
        raise SelfReportError(_("Choose your village or community from the list."), field="community")
    person = PersonInput(
        name=data.name,
        division=community.path,
        document_kind=data.document_kind or DocumentKind.RESIDENT_ID,
        document_number=data.document_number,
        phone=data.phone,
        address=address,
    )
    try:
        valid = validate_person_input(person)
    except PersonValidationError as error:
        field = "community" if error.field == "division" else error.field
        raise SelfReportError(error.message, field=field) from error
    normalised = PersonInput(
        name=valid.name,
        division=community.path,
        document_kind=valid.document_kind,
        document_number=valid.document_number,
        phone=valid.phone,
        address=valid.address,
    )
    return ValidSelfReport(
        person=normalised,
        community=community,
        phone=valid.phone,
        document_number=valid.document_number,
        origin_name=origin_name,
        arrived_on=data.arrived_on,
        address=address,
    )


def new_submission_token() -> str:
    """The random token a filled-in form carries from 'send code' to 'submit' (its idempotency key)."""
    return secrets.token_urlsafe(24)


def _submission_key(token: str, valid: ValidSelfReport) -> str:
    """The token and what the form says, hashed: the same form again has the same key; the same token with
    other details (edited after a report was saved) is a new report."""
    content = json.dumps(
        [
            token,
            valid.person.name,
            valid.person.document_kind,
            valid.document_number,
            valid.phone,
            valid.origin_name,
            valid.arrived_on.isoformat(),
            valid.community.path,
            valid.address,
        ],
        ensure_ascii=False,
    )
    return hmac.new(settings.SECRET_KEY.encode(), f"fangkong.selfreport:{content}".encode(), hashlib.sha256).hexdigest()


def request_code(data: SelfReportInput, *, ip_address: str | None, today: dt.date | None = None) -> otp.IssuedCode:
    """Step 1: check the report (writes nothing when it is wrong), then send a code to the phone."""
    valid = validate_self_report(data, today=today)
    return otp.issue_code(valid.phone, purpose=OTP_PURPOSE, ip_address=ip_address, division_path=valid.community.path)


def _new_confirmation(day: dt.date) -> str:
    while True:  # 32**6 ≈ 10^9 suffixes a day: a repeat is rare, and checked
        suffix = "".join(secrets.choice(CONFIRMATION_ALPHABET) for _ in range(CONFIRMATION_SUFFIX_LENGTH))
        number = f"{CONFIRMATION_PREFIX}-{day:%Y%m%d}-{suffix}"
        taken = SelfReport.objects.filter(confirmation=number).exists()
        if not taken and not RiskReport.objects.filter(source=Source.SELF_REPORT, reference=number).exists():
            return number


def _already_saved(key: str) -> SelfReport | None:
    reference = (
        RiskReport.objects.filter(source=Source.SELF_REPORT, data__submission=key)
        .values_list("reference", flat=True)
        .first()
    )
    return SelfReport.objects.filter(confirmation=reference).first() if reference else None


def _save(valid: ValidSelfReport, *, key: str) -> SelfReport:
    confirmation = _new_confirmation(timezone.localdate())
    person = register_person(valid.person, source=Source.SELF_REPORT, reference=confirmation, by=None).person
    arrived_at = dt.datetime.combine(valid.arrived_on, dt.time(12), tzinfo=timezone.get_current_timezone())
    reported = masked_report_data(
        {"name": valid.person.name, "id_number": valid.document_number, "phone": valid.phone}
    ) | {"community": valid.community.path, "address": valid.address, "submission": key}
    listing = list_person(
        person,
        reason=Reason.ARRIVAL,
        source=Source.SELF_REPORT,
        reference=confirmation,
        origin_name=valid.origin_name,
        arrived_at=arrived_at,
        data=reported,
        by=None,
    )
    entry = listing.entry
    if listing.created and entry.division_id != valid.community.path:
        # Someone already in the registry under another address: the work goes where they say they are now.
        entry = reroute(entry, to=valid.community, by=None, note=str(_("Address given in a self-report")))
    report = SelfReport.objects.create(
        confirmation=confirmation,
        division=valid.community,
        person=person,
        entry=entry,
        origin_name=valid.origin_name,
        arrived_on=valid.arrived_on,
        address=valid.address,
        phone_verified=True,
    )
    audit.record(
        "screening.selfreport.create",
        by=None,
        target=report,
        division_path=valid.community.path,
        changes={
            "confirmation": [None, confirmation],
            "person": [None, person.pk],
            "phone": [None, mask_phone(valid.phone)],
            "origin_name": [None, valid.origin_name],
            "arrived_on": [None, valid.arrived_on.isoformat()],
        },
    )
    return report


def submit_self_report(
    data: SelfReportInput, *, code: str, submission: str, ip_address: str | None, today: dt.date | None = None
) -> SelfReportResult:
    """Step 2: check the code and save the report; the same submission again returns the first report."""
    valid = validate_self_report(data, today=today)
    if not submission or len(submission) > 100:
        raise SelfReportError(_("This form has expired. Ask for a new code."), field="code")
    key = _submission_key(submission, valid)
    otp.count_check_from(ip_address)
    with transaction.atomic():
        existing = _already_saved(key)
        if existing is not None:
            return SelfReportResult(report=existing, created=False, receipt=_receipt(existing, valid))
        outcome = otp.check_code(valid.phone, code, purpose=OTP_PURPOSE)
        if outcome is otp.CodeCheck.OK:
            report = _save(valid, key=key)
            return SelfReportResult(report=report, created=True, receipt=_receipt(report, valid))
    # Outside the transaction: the wrong try stays counted.
    raise otp.error_for(outcome)


def _receipt(report: SelfReport, valid: ValidSelfReport) -> Receipt:
    return Receipt(
        confirmation=report.confirmation,
        name=mask_name(valid.person.name),
        document_number=mask_id_number(valid.document_number),
        phone=mask_phone(valid.phone),
        community=valid.community.name,
        origin_name=report.origin_name,
        arrived_on=report.arrived_on,
    )
