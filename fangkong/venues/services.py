"""Venues and check-ins: register a venue (with its venue code), check people in — by scanning the code
(public, phone verified by a one-time code), by staff at the door — and check them out.

Every channel resolves the visitor onto the registry (`people.services.register_person`; someone first seen at
a venue is homed at the venue's community until a better source gives their address) and is idempotent:
a check-in carries a `reference` unique per source (the self check-in's submission key, the staff form's
token), and one person is checked in at one venue once per moment. Bulk imports live in `importing.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.notify import otp
from fangkong.people.models import DocumentKind, Person
from fangkong.people.services import register_person
from fangkong.people.validation import PersonInput, PersonValidationError, ValidPerson, validate_person_input
from fangkong.venues.models import CheckIn, CheckInSource, Venue, VenueCategory
from fangkong.venues.rules import dwell_minutes_for

PERSON_SOURCE = "venue_check_in"  # the registry's provenance rows for people met at a venue
OTP_PURPOSE = "venue_check_in"
CODE_PREFIX = "V"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: read from a poster and typed by hand
CODE_LENGTH = 9
CHECKOUT_SALT = "fangkong.venues.checkout"
CHECKOUT_VALID_FOR = timedelta(hours=24)
# A clock tolerance for staff entries, not policy: a door tablet's clock may run a little ahead.
FUTURE_TOLERANCE = timedelta(minutes=10)


class VenueError(DomainError):
    default_code = ErrorCode.INVALID


def _require(by: User | None, capability: Capability, path: str) -> None:
    if by is None:
        return  # the command line or the simulation loader, run by an operator on the server
    if not by.can(capability) or not is_in_scope(path, by):
        raise PermissionDeniedError()


# --- venues -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VenueInput:
    name: str
    category: str
    division: str  # the community's path
    address: str = ""
    dwell_minutes: int | None = None  # None: the category's assumed stay
    external_id: str = ""


def new_venue_code() -> str:
    """A random venue code such as V7K3M9Q2XR: printed on the poster, part of the check-in page's address."""
    while True:
        code = CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not Venue.objects.filter(code=code).exists():
            return code


def _valid_venue(data: VenueInput) -> tuple[str, str, Division, str, int]:
    name = " ".join((data.name or "").split())[:200]
    if not name:
        raise VenueError(_("Enter the venue's name."), field="name")
    if data.category not in VenueCategory.values:
        raise VenueError(_("Choose the kind of venue."), field="category")
    division = Division.objects.filter(path=(data.division or "").strip(), level=DivisionLevel.COMMUNITY).first()
    if division is None:
        raise VenueError(_("Choose the village or community where the venue is."), field="division")
    dwell = data.dwell_minutes if data.dwell_minutes is not None else dwell_minutes_for(data.category)
    if not 1 <= dwell <= 24 * 60:
        raise VenueError(_("The assumed stay must be between 1 minute and 24 hours."), field="dwell_minutes")
    return name, data.category, division, " ".join((data.address or "").split())[:300], dwell


@transaction.atomic
def register_venue(data: VenueInput, *, by: User | None) -> Venue:
    """A new venue with a fresh venue code, in a community of the user's jurisdiction."""
    if by is not None and not by.can(Capability.VENUES_MANAGE):
        raise PermissionDeniedError()
    name, category, division, address, dwell = _valid_venue(data)
    _require(by, Capability.VENUES_MANAGE, division.path)
    venue = Venue.objects.create(
        code=new_venue_code(),
        name=name,
        category=category,
        address=address,
        division=division,
        dwell_minutes=dwell,
        external_id=(data.external_id or "")[:60],
        created_by=by if by is not None and by.pk else None,
    )
    audit.record(
        "venues.venue.create",
        by=by,
        target=venue,
        division_path=division.path,
        changes={"code": [None, venue.code], "name": [None, name], "category": [None, category]},
    )
    return venue


@transaction.atomic
def update_venue(venue: Venue, data: VenueInput, *, is_active: bool, by: User) -> Venue:
    """Change a venue's details (its code stays: posters are already on the wall)."""
    _require(by, Capability.VENUES_MANAGE, venue.division_id)
    name, category, division, address, dwell = _valid_venue(data)
    _require(by, Capability.VENUES_MANAGE, division.path)
    venue = Venue.objects.select_for_update().get(pk=venue.pk)
    before = {
        "name": venue.name,
        "category": venue.category,
        "division": venue.division_id,
        "address": venue.address,
        "dwell_minutes": venue.dwell_minutes,
        "is_active": venue.is_active,
    }
    venue.name, venue.category, venue.division, venue.address = name, category, division, address
    venue.dwell_minutes, venue.is_active = dwell, is_active
    after = {**before, "name": name, "category": category, "division": division.path, "address": address}
    after |= {"dwell_minutes": dwell, "is_active": is_active}
    changes = audit.diff(before, after)
    if changes:
        venue.save()
        audit.record("venues.venue.update", by=by, target=venue, division_path=division.path, changes=changes)
    return venue


# --- check-ins ----------------------------------------------------------------------------------------------


def assumed_end(venue: Venue, checked_in_at: datetime, checked_out_at: datetime | None) -> datetime:
    """The end of a stay: the check-out when recorded, else the check-in plus the venue's assumed stay."""
    return checked_out_at if checked_out_at is not None else checked_in_at + timedelta(minutes=venue.dwell_minutes)


def _record(
    venue: Venue,
    *,
    person: Person,
    checked_in_at: datetime,
    checked_out_at: datetime | None,
    source: str,
    reference: str,
    by: User | None,
) -> tuple[CheckIn, bool]:
    """The row, once: the same reference (a retry) or the same person, venue and moment gives the first row."""
    first = CheckIn.objects.filter(source=source, reference=reference).first() if reference else None
    first = first or CheckIn.objects.filter(person=person, venue=venue, checked_in_at=checked_in_at).first()
    if first is not None:
        return first, False
    try:
        with transaction.atomic():  # a savepoint: a concurrent retry of the same check-in may win
            check_in = CheckIn.objects.create(
                venue=venue,
                division_id=venue.division_id,
                person=person,
                checked_in_at=checked_in_at,
                checked_out_at=checked_out_at,
                ends_at=assumed_end(venue, checked_in_at, checked_out_at),
                source=source,
                reference=reference,
                recorded_by=by if by is not None and by.pk else None,
            )
    except IntegrityError:
        first = CheckIn.objects.filter(source=source, reference=reference).first() if reference else None
        first = first or CheckIn.objects.filter(person=person, venue=venue, checked_in_at=checked_in_at).first()
        if first is None:
            raise
        return first, False
    audit.record(
        "venues.checkin.create",
        by=by,
        target=check_in,
        division_path=venue.division_id,
        changes={
            "venue": [None, venue.code],
            "person": [None, person.pk],
            "checked_in_at": [None, checked_in_at.isoformat()],
            "source": [None, source],
        },
    )
    return check_in, True


@dataclass(frozen=True)
class VisitorInput:
    """Who checks in, as typed (raw strings allowed)."""

    name: str
    document_kind: str
    document_number: str
    phone: str


@dataclass(frozen=True)
class Receipt:
    """What the visitor's phone (or the staff page) shows: venue, time, identity masked."""

    venue: str
    checked_in_at: datetime
    name: str
    document_number: str
    phone: str


@dataclass(frozen=True)
class CheckInResult:
    check_in: CheckIn
    created: bool  # False: this form had already been saved, and this is that check-in
    receipt: Receipt


def _required(value: str, field: str, message: str | Promise) -> None:
    if not " ".join((value or "").split()):
        raise VenueError(message, field=field)


def validate_visitor(venue: Venue, data: VisitorInput, *, phone_required: bool = True) -> ValidPerson:
    """Name, a document and (for a self check-in, whose phone gets the code) a mobile; errors name the field."""
    _required(data.name, "name", _("Enter your name."))
    _required(data.document_number, "document_number", _("Enter your ID number or other document number."))
    if phone_required:
        _required(data.phone, "phone", _("Enter your mobile number: the code is sent to it."))
    try:
        return validate_person_input(_person_input(venue, data))
    except PersonValidationError as error:
        raise VenueError(error.message, field=error.field) from error


def _person_input(venue: Venue, data: VisitorInput) -> PersonInput:
    return PersonInput(
        name=data.name,
        division=venue.division_id,
        document_kind=data.document_kind or DocumentKind.RESIDENT_ID,
        document_number=data.document_number,
        phone=data.phone,
    )


def _receipt(check_in: CheckIn, venue: Venue, valid: ValidPerson) -> Receipt:
    return Receipt(
        venue=venue.name,
        checked_in_at=check_in.checked_in_at,
        name=mask_name(valid.name),
        document_number=mask_id_number(valid.document_number),
        phone=mask_phone(valid.phone),
    )


def _submission_key(token: str, venue: Venue, valid: ValidPerson, channel: str) -> str:
    """The form's random token with what it says, keyed-hashed: the same form sent twice (a double tap, a retry
    after a lost answer) has the same key; the same token with other details is another check-in."""
    content = json.dumps(
        [channel, token, venue.code, valid.name, valid.document_kind, valid.document_number, valid.phone],
        ensure_ascii=False,
    )
    return hmac.new(settings.SECRET_KEY.encode(), f"fangkong.venues:{content}".encode(), hashlib.sha256).hexdigest()


def new_submission_token() -> str:
    return secrets.token_urlsafe(24)


def _check_submission(submission: str) -> None:
    if not submission or len(submission) > 100:
        raise VenueError(_("This form has expired. Start again."), field="code")


def _require_open(venue: Venue) -> None:
    if not venue.is_active:
        raise VenueError(_("This venue code is no longer in use."), field="venue")


def request_check_in_code(venue: Venue, data: VisitorInput, *, ip_address: str | None) -> otp.IssuedCode:
    """Self check-in, step 1: check the details (nothing is written when they are wrong), send a code."""
    _require_open(venue)
    valid = validate_visitor(venue, data)
    return otp.issue_code(valid.phone, purpose=OTP_PURPOSE, ip_address=ip_address, division_path=venue.division_id)


def submit_self_check_in(
    venue: Venue,
    data: VisitorInput,
    *,
    code: str,
    submission: str,
    ip_address: str | None,
    now: datetime | None = None,
) -> CheckInResult:
    """Self check-in, step 2: check the code and record the check-in at this moment; the same submission again
    returns the first check-in and writes nothing. A wrong code's try stays counted (outside the transaction)."""
    _require_open(venue)
    valid = validate_visitor(venue, data)
    _check_submission(submission)
    key = _submission_key(submission, venue, valid, CheckInSource.SCAN)
    otp.count_check_from(ip_address)
    with transaction.atomic():
        existing = CheckIn.objects.filter(source=CheckInSource.SCAN, reference=key).first()
        if existing is not None:
            return CheckInResult(check_in=existing, created=False, receipt=_receipt(existing, venue, valid))
        outcome = otp.check_code(valid.phone, code, purpose=OTP_PURPOSE)
        if outcome is otp.CodeCheck.OK:
            person = register_person(
                _person_input(venue, data), source=PERSON_SOURCE, reference=f"{venue.code}:{key[:32]}", by=None
            ).person
            check_in, created = _record(
                venue,
                person=person,
                checked_in_at=now or timezone.now(),
                checked_out_at=None,
                source=CheckInSource.SCAN,
                reference=key,
                by=None,
            )
            return CheckInResult(check_in=check_in, created=created, receipt=_receipt(check_in, venue, valid))
    raise otp.error_for(outcome)


@dataclass(frozen=True)
class StaffCheckInInput:
    visitor: VisitorInput
    checked_in_at: datetime | None
    checked_out_at: datetime | None = None


@transaction.atomic
def check_in_by_staff(
    venue: Venue, data: StaffCheckInInput, *, submission: str, by: User, now: datetime | None = None
) -> CheckInResult:
    """A visitor without a smartphone, entered by staff at the door (or afterwards from a paper register)."""
    _require(by, Capability.VENUES_MANAGE, venue.division_id)
    _require_open(venue)
    now = now or timezone.now()
    valid = validate_visitor(venue, data.visitor, phone_required=False)
    checked_in_at = data.checked_in_at or now
    if checked_in_at > now + FUTURE_TOLERANCE:
        raise VenueError(_("The check-in time is in the future."), field="checked_in_at")
    if data.checked_out_at is not None and data.checked_out_at < checked_in_at:
        raise VenueError(_("The check-out is before the check-in."), field="checked_out_at")
    _check_submission(submission)
    key = _submission_key(submission, venue, valid, CheckInSource.STAFF)
    existing = CheckIn.objects.filter(source=CheckInSource.STAFF, reference=key).first()
    if existing is not None:
        return CheckInResult(check_in=existing, created=False, receipt=_receipt(existing, venue, valid))
    person = register_person(
        _person_input(venue, data.visitor), source=PERSON_SOURCE, reference=f"{venue.code}:{key[:32]}", by=by
    ).person
    check_in, created = _record(
        venue,
        person=person,
        checked_in_at=checked_in_at,
        checked_out_at=data.checked_out_at,
        source=CheckInSource.STAFF,
        reference=key,
        by=by,
    )
    return CheckInResult(check_in=check_in, created=created, receipt=_receipt(check_in, venue, valid))


@transaction.atomic
def check_out(check_in: CheckIn, *, at: datetime | None = None, by: User | None) -> CheckIn:
    """Record when the visitor left (once: a second check-out changes nothing)."""
    if by is not None:
        _require(by, Capability.VENUES_MANAGE, check_in.division_id)
    check_in = CheckIn.objects.select_for_update(of=("self",)).select_related("venue").get(pk=check_in.pk)
    if check_in.checked_out_at is not None:
        return check_in
    at = max(at or timezone.now(), check_in.checked_in_at)
    old_end = check_in.ends_at
    check_in.checked_out_at, check_in.ends_at = at, at
    check_in.save(update_fields=["checked_out_at", "ends_at"])
    audit.record(
        "venues.checkin.checkout",
        by=by,
        target=check_in,
        division_path=check_in.division_id,
        changes={"checked_out_at": [None, at.isoformat()], "ends_at": [old_end.isoformat(), at.isoformat()]},
    )
    return check_in


def checkout_token(check_in: CheckIn) -> str:
    """What the visitor's done page keeps to check out later without logging in (signed, valid a day)."""
    return signing.dumps(check_in.pk, salt=CHECKOUT_SALT)


def check_out_with_token(venue: Venue, token: str, *, now: datetime | None = None) -> CheckIn:
    """The public check-out: the token from the visitor's own check-in at this venue, within a day."""
    try:
        check_in_id = signing.loads(token, salt=CHECKOUT_SALT, max_age=CHECKOUT_VALID_FOR)
    except signing.BadSignature as error:
        raise VenueError(_("This check-out link has expired; nothing was changed."), field="token") from error
    check_in = CheckIn.objects.filter(pk=check_in_id, venue=venue).first()
    if check_in is None:
        raise VenueError(_("This check-out link has expired; nothing was changed."), field="token")
    return check_out(check_in, at=now, by=None)
