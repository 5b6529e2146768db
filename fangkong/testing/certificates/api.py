"""Checkpoint devices: POST a certificate's text, get the verdict and the reason (certificates.verify).

The public keys themselves are at /certificates/keys.json (no login), for devices that verify offline."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from fangkong.core.api_access import api_requires
from fangkong.core.roles import Capability
from fangkong.testing.certificates import services
from fangkong.testing.certificates.codec import MAX_TEXT_LENGTH

router = Router(tags=["certificates"])


class VerifyIn(Schema):
    certificate: str = ""  # required, but checked after the capability (an empty one is a 400 naming the field)


class ClaimsOut(Schema):
    name: str
    document: str
    sampled_at: datetime
    result: str
    lab: str
    issuer: str
    issued_at: datetime
    serial: str


class VerifyOut(Schema):
    is_pass: bool
    outcome: str
    message: str
    kid: str
    valid_hours: int
    valid_until: datetime | None
    claims: ClaimsOut | None


@router.post("/verify", response=VerifyOut)
@api_requires(Capability.CERTIFICATE_VERIFY)
def verify(request: HttpRequest, payload: VerifyIn) -> VerifyOut:
    """Verify a certificate (the QR code's text). `is_pass` is true only for a genuine, negative, unexpired one;
    otherwise `outcome` says why (malformed, unsupported_version, unknown_key, bad_signature, not_negative,
    expired, not_yet_valid). Claims are returned only when the signature verified."""
    check = services.verify_presented_certificate(payload.certificate[: MAX_TEXT_LENGTH * 2], by=request.user)  # type: ignore[arg-type]
    verification = check.verification
    claims = verification.claims
    return VerifyOut(
        is_pass=check.is_pass,
        outcome=str(verification.outcome),
        message=check.message,
        kid=verification.kid,
        valid_hours=check.valid_hours,
        valid_until=verification.valid_until,
        claims=(
            ClaimsOut(
                name=claims.name,
                document=claims.document,
                sampled_at=claims.sampled_at,
                result=str(claims.result),
                lab=claims.lab,
                issuer=claims.issuer,
                issued_at=claims.issued_at,
                serial=claims.serial,
            )
            if claims is not None
            else None
        ),
    )
