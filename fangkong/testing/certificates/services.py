"""Residents' own results, their signed certificate, and checkpoint verification.

Looking up results (public, two steps, like the self-report page): the resident gives a document number and
their mobile; a one-time code goes to that mobile (`notify.otp`, with its per-phone and per-address limits)
whatever the registry holds, so the page answers the same for a known and an unknown ID number. With the right
code, the results shown are those of the person whose document it is *and* whose registry mobile is the one
just proven; any other combination shows "no results", the same answer as an unknown number.

Issuing a certificate signs, with the active key, what `selectors.certificate_basis` says now, with the
identity masked; the serial is random and the audit row (`testing.certificate.issue`) ties it to the person, so
a certificate can be traced by those allowed to read the audit log, while the certificate itself carries no
full identity. Verifying is offline (`codec.verify_certificate` against the published keys) and audited
(`testing.certificate.verify`: the outcome, key id, serial and the masked identity only).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit, identity, phones
from fangkong.core.errors import DomainError, ErrorCode
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.notify import otp
from fangkong.people.models import DocumentKind, Person
from fangkong.people.validation import IDENTITY_MESSAGES, PHONE_MESSAGES
from fangkong.testing.certificates import keys
from fangkong.testing.certificates.codec import (
    Claims,
    Outcome,
    ResultCode,
    Verification,
    normalise_text,
    sign_certificate,
    verify_certificate,
)
from fangkong.testing.certificates.selectors import (
    ResidentResult,
    certificate_basis,
    person_for_lookup,
    resident_results,
)

OTP_PURPOSE = "results_lookup"
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # read aloud without 0/O, 1/I mix-ups
SERIAL_LENGTH = 10  # 50 bits


class ResultsLookupError(DomainError):
    default_code = ErrorCode.INVALID


class CertificateInputError(DomainError):
    default_code = ErrorCode.INVALID


@dataclass(frozen=True)
class LookupInput:
    document_kind: str
    document_number: str
    phone: str


@dataclass(frozen=True)
class ValidLookup:
    document_kind: str
    document_number: str
    phone: str


@dataclass(frozen=True)
class IssuedCertificate:
    text: str
    kid: str
    claims: Claims
    valid_hours: int

    @property
    def valid_until(self) -> datetime:
        return self.claims.sampled_at + timedelta(hours=self.valid_hours)


@dataclass(frozen=True)
class ResidentView:
    """What the results page shows after a right code: masked identity, results, certificate (or nothing)."""

    found: bool
    name: str = ""
    document: str = ""
    phone: str = ""
    results: tuple[ResidentResult, ...] = ()
    certificate: IssuedCertificate | None = None


def validate_lookup(data: LookupInput) -> ValidLookup:
    """Shapes only (check character, a mainland mobile): answers nothing about the registry."""
    try:
        kind = identity.DocumentKind[DocumentKind(data.document_kind or DocumentKind.RESIDENT_ID).name]
    except (KeyError, ValueError) as error:
        raise ResultsLookupError(_("Unknown document type."), field="document_kind") from error
    try:
        number = identity.validate_document(kind, data.document_number)
    except identity.IdentityError as error:
        raise ResultsLookupError(
            _("Invalid document number: %(reason)s") % {"reason": IDENTITY_MESSAGES[error.code]},
            field="document_number",
        ) from error
    try:
        phone = phones.normalize_mobile(data.phone)
    except phones.PhoneError as error:
        raise ResultsLookupError(
            _("Invalid mobile number: %(reason)s") % {"reason": PHONE_MESSAGES[error.code]}, field="phone"
        ) from error
    return ValidLookup(
        document_kind=DocumentKind(data.document_kind or DocumentKind.RESIDENT_ID), document_number=number, phone=phone
    )


def request_lookup_code(data: LookupInput, *, ip_address: str | None) -> otp.IssuedCode:
    """Step 1: a code to the mobile given — always, so the answer never depends on the registry."""
    valid = validate_lookup(data)
    return otp.issue_code(valid.phone, purpose=OTP_PURPOSE, ip_address=ip_address)


def look_up_results(
    data: LookupInput, *, code: str, ip_address: str | None, now: datetime | None = None
) -> ResidentView:
    """Step 2: check the code (the try counts even when wrong), then show the resident their own results."""
    now = now or timezone.now()
    valid = validate_lookup(data)
    otp.verify_code(valid.phone, code, purpose=OTP_PURPOSE, ip_address=ip_address, now=now)
    person = person_for_lookup(
        document_kind=valid.document_kind, document_number=valid.document_number, phone=valid.phone
    )
    if person is None:
        return ResidentView(found=False)
    with transaction.atomic():
        audit.record(
            "testing.results.lookup",
            by=None,
            target=person,
            division_path=person.home_division_id,
            reason="resident looked up their own results (document + SMS code)",
        )
        certificate = issue_certificate(person, now=now)
    return ResidentView(
        found=True,
        name=mask_name(person.name),
        document=mask_id_number(person.primary_document_number or valid.document_number),
        phone=mask_phone(person.phone),
        results=tuple(resident_results(person)),
        certificate=certificate,
    )


def _serial() -> str:
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def certificate_valid_hours(division_path: str | None) -> int:
    return active_edition(division_path).certificate.valid_hours


@transaction.atomic
def issue_certificate(person: Person, *, now: datetime | None = None) -> IssuedCertificate | None:
    """A signed certificate of the person's current result (None before any result), audited with its serial."""
    now = now or timezone.now()
    basis = certificate_basis(person)
    if basis is None:
        return None
    kid, key = keys.signing_key()
    claims = Claims(
        name=mask_name(person.name),
        document=mask_id_number(person.primary_document_number),
        sampled_at=basis.sampled_at,
        result=basis.result,
        lab=basis.lab_name[:200],
        issuer=keys.issuer()[:100],
        issued_at=now,
        serial=_serial(),
    )
    text = sign_certificate(claims, key=key)
    audit.record(
        "testing.certificate.issue",
        by=None,
        target=person,
        division_path=person.home_division_id,
        changes={
            "serial": [None, claims.serial],
            "kid": [None, kid],
            "result": [None, str(claims.result)],
            "sampled_at": [None, claims.sampled_at.isoformat()],
            "sample": [None, basis.sample_id],
        },
    )
    return IssuedCertificate(
        text=text, kid=kid, claims=claims, valid_hours=certificate_valid_hours(person.home_division_id)
    )


@dataclass(frozen=True)
class CheckpointCheck:
    """A verification as the checkpoint sees it: the outcome, the hours applied, and the reason in words."""

    verification: Verification
    valid_hours: int

    @property
    def is_pass(self) -> bool:
        return self.verification.is_pass

    @property
    def message(self) -> str:
        return outcome_message(self.verification, valid_hours=self.valid_hours)


OUTCOME_MESSAGES = {
    Outcome.VALID: _("Valid: a negative result, sampled within the last %(hours)s hours."),
    Outcome.MALFORMED: _("Not a readable test certificate: the text is damaged, incomplete or of another kind."),
    Outcome.UNSUPPORTED_VERSION: _("A certificate format this verifier does not know: not accepted."),
    Outcome.UNKNOWN_KEY: _("Signed with a key that is not one of ours (unknown key id): not accepted."),
    Outcome.BAD_SIGNATURE: _("The signature does not match: the certificate was altered or forged."),
    Outcome.NOT_NEGATIVE: _("Not a pass: the result on this certificate is “%(result)s”."),
    Outcome.EXPIRED: _("Expired: sampled more than %(hours)s hours ago."),
    Outcome.NOT_YET_VALID: _("The sampling time lies in the future: not accepted (check the device's clock)."),
}
RESULT_LABELS = {
    ResultCode.NEGATIVE: _("Negative"),
    ResultCode.POSITIVE: _("Positive"),
    ResultCode.POOL_POSITIVE: _("Pooled tube positive, retest pending"),
    ResultCode.INVALID: _("Invalid sample"),
}


def outcome_message(verification: Verification, *, valid_hours: int) -> str:
    claims = verification.claims
    result = str(RESULT_LABELS[claims.result]) if claims is not None else ""
    return str(OUTCOME_MESSAGES[verification.outcome]) % {"hours": valid_hours, "result": result}


@transaction.atomic
def verify_presented_certificate(text: str, *, by: User, now: datetime | None = None) -> CheckpointCheck:
    """Verify a certificate shown at a checkpoint with the published keys and the verifier's policy edition's
    validity hours; audited without the full identity (the certificate never holds it)."""
    now = now or timezone.now()
    if not normalise_text(text):
        raise CertificateInputError(_("Scan the certificate's QR code or paste its text."), field="certificate")
    division_path = by.division_id or None
    valid_hours = certificate_valid_hours(division_path)
    verification = verify_certificate(text, keys=keys.public_keys(), now=now, valid_hours=valid_hours)
    claims = verification.claims
    audit.record(
        "testing.certificate.verify",
        by=by,
        target_type="certificate",
        target_id=claims.serial if claims is not None else "",
        division_path=division_path,
        changes={
            "outcome": [None, str(verification.outcome)],
            "kid": [None, verification.kid],
            "result": [None, str(claims.result) if claims is not None else None],
            "sampled_at": [None, claims.sampled_at.isoformat() if claims is not None else None],
            "document": [None, claims.document if claims is not None else None],
        },
    )
    return CheckpointCheck(verification=verification, valid_hours=valid_hours)
