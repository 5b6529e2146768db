"""The test certificate's wire format, its Ed25519 signature and its offline verification. Pure: no Django, no
database; a checkpoint device with this module and the published public keys verifies a certificate alone.

Format `FK1` (the version is the prefix; a change of fields or encoding is a new prefix):

    FK1.<kid>.<claims>.<signature>

- `kid`: the signing key's id, the first 12 characters of its RFC 7638 JWK thumbprint (base64url, no padding);
  the published key set (`/certificates/keys.json`) lists every key by this id, so keys can rotate.
- `claims`: base64url (no padding) of compact UTF-8 JSON with short keys, sorted:
  `n` masked name, `id` masked document number, `st` sampling time and `iat` issue time (Unix seconds, UTC),
  `r` the result (`neg`, `pos`, `pool` = pooled tube positive and the single-tube retest not yet back, `inv`),
  `lab` the lab that reported the result, `iss` the issuing platform, `sn` a serial (no personal data).
- `signature`: base64url (no padding) of the 64-byte Ed25519 signature over the ASCII text `FK1.<kid>.<claims>`,
  so the version, the key id and the claims are all covered, and a changed character anywhere fails.

Why not JWS or CWT: no JOSE/COSE library is installed and the format needs only a fraction of either; this is
a JWS compact serialisation in all but name (header replaced by the version and kid), about 330 characters,
which a QR code of version 11–12 at error-correction level M holds and any phone camera reads. base64url keeps
the text safe to paste, type into a form or send in JSON (base45 would save ~20 % of modules but its alphabet
has a space, which paste and forms mangle).

Verification order: shape → known key → signature → claims → result → time. Only a certificate whose
signature verifies with a published key, whose result is negative and whose sampling time lies within the
validity window (the policy edition's hours) is a pass; every other outcome names its reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "FK1"
KID_LENGTH = 12
SIGNATURE_BYTES = 64
MAX_TEXT_LENGTH = 2000  # a genuine FK1 certificate is ~330 characters
CLOCK_SKEW = timedelta(minutes=5)  # a sampling time this far in the verifier's future is still accepted

_B64URL = r"[A-Za-z0-9_-]"
_SHAPE = re.compile(
    rf"(?P<version>[A-Z]{{2}}[0-9]+)\.(?P<kid>{_B64URL}{{1,64}})\.(?P<claims>{_B64URL}+)\.(?P<sig>{_B64URL}+)"
)
_WHITESPACE = re.compile(r"\s+")


class ResultCode(StrEnum):
    NEGATIVE = "neg"
    POSITIVE = "pos"
    POOL_POSITIVE = "pool"  # the pooled tube was positive; this person's single-tube retest is not back yet
    INVALID = "inv"


class Outcome(StrEnum):
    """What a verification found; only VALID is a pass."""

    VALID = "valid"
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    NOT_NEGATIVE = "not_negative"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


@dataclass(frozen=True)
class Claims:
    """What a certificate says. Identity is masked before it is signed: the certificate never holds it whole."""

    name: str
    document: str
    sampled_at: datetime
    result: ResultCode
    lab: str
    issuer: str
    issued_at: datetime
    serial: str

    @property
    def is_negative(self) -> bool:
        return self.result is ResultCode.NEGATIVE


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    kid: str = ""
    claims: Claims | None = None  # only when the signature verified: unsigned text is never shown as fact
    valid_until: datetime | None = None
    detail: str = ""  # for MALFORMED: what was wrong, in English (logs and the API's details)

    @property
    def is_pass(self) -> bool:
        return self.outcome is Outcome.VALID


class CertificateFormatError(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict: the text must be the canonical encoding of what it decodes to (no stray padding bits)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise CertificateFormatError("not base64url") from error
    if b64url(data) != text:
        raise CertificateFormatError("not canonical base64url")
    return data


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The key as an RFC 8037 JWK (without kid)."""
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key_bytes(key))}


def kid_for(key: Ed25519PublicKey) -> str:
    """The key id: the RFC 7638 thumbprint (SHA-256 of the canonical JWK), base64url, first 12 characters."""
    canonical = json.dumps(public_jwk(key), sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest())[:KID_LENGTH]


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    return int(moment.timestamp())


def encode_claims(claims: Claims) -> bytes:
    body = {
        "n": claims.name,
        "id": claims.document,
        "st": _epoch(claims.sampled_at),
        "r": str(claims.result),
        "lab": claims.lab,
        "iss": claims.issuer,
        "iat": _epoch(claims.issued_at),
        "sn": claims.serial,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


_TEXT_FIELDS = {"n": 100, "id": 40, "lab": 200, "iss": 100, "sn": 40}
_TIME_FIELDS = ("st", "iat")


def decode_claims(data: bytes) -> Claims:
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CertificateFormatError("claims are not UTF-8 JSON") from error
    if not isinstance(body, dict):
        raise CertificateFormatError("claims are not an object")
    expected = {*_TEXT_FIELDS, *_TIME_FIELDS, "r"}
    if set(body) != expected:
        raise CertificateFormatError(f"claims must have exactly {sorted(expected)}")
    for name, longest in _TEXT_FIELDS.items():
        if not isinstance(body[name], str) or len(body[name]) > longest:
            raise CertificateFormatError(f"{name} must be text of at most {longest} characters")
    for name in _TIME_FIELDS:
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**37:
            raise CertificateFormatError(f"{name} must be Unix seconds")
    try:
        result = ResultCode(body["r"])
    except ValueError as error:
        raise CertificateFormatError("r is not a known result") from error
    return Claims(
        name=body["n"],
        document=body["id"],
        sampled_at=datetime.fromtimestamp(body["st"], tz=UTC),
        result=result,
        lab=body["lab"],
        issuer=body["iss"],
        issued_at=datetime.fromtimestamp(body["iat"], tz=UTC),
        serial=body["sn"],
    )


def sign_certificate(claims: Claims, *, key: Ed25519PrivateKey) -> str:
    """The certificate text for `claims`, signed with `key`."""
    signed = f"{FORMAT}.{kid_for(key.public_key())}.{b64url(encode_claims(claims))}"
    return f"{signed}.{b64url(key.sign(signed.encode('ascii')))}"


def normalise_text(text: str) -> str:
    """What a verifier reads: the text with every whitespace removed (pasting and scanning add line breaks)."""
    return _WHITESPACE.sub("", text or "")


def verify_certificate(
    text: str, *, keys: Mapping[str, Ed25519PublicKey], now: datetime, valid_hours: int
) -> Verification:
    """Check a certificate offline against the published `keys` ({kid: public key}) at `now`.

    `valid_hours` (the policy edition's certificate validity) counts from the sampling time: a certificate is
    valid up to and including sampling time + valid_hours."""
    compact = normalise_text(text)
    if not compact or len(compact) > MAX_TEXT_LENGTH:
        return Verification(Outcome.MALFORMED, detail="empty or too long")
    shape = _SHAPE.fullmatch(compact)
    if shape is None:
        return Verification(Outcome.MALFORMED, detail="not FK1.<kid>.<claims>.<signature>")
    if shape["version"] != FORMAT:
        return Verification(Outcome.UNSUPPORTED_VERSION, detail=shape["version"])
    kid = shape["kid"]
    key = keys.get(kid)
    if key is None:
        return Verification(Outcome.UNKNOWN_KEY, kid=kid)
    try:
        signature = _b64url_decode(shape["sig"])
    except CertificateFormatError as error:
        return Verification(Outcome.MALFORMED, kid=kid, detail=f"signature {error}")
    if len(signature) != SIGNATURE_BYTES:
        return Verification(Outcome.MALFORMED, kid=kid, detail="signature is not 64 bytes")
    signed = compact[: shape.end("claims")]
    try:
        key.verify(signature, signed.encode("ascii"))
    except InvalidSignature:
        return Verification(Outcome.BAD_SIGNATURE, kid=kid)
    try:
        claims = decode_claims(_b64url_decode(shape["claims"]))
    except CertificateFormatError as error:  # signed by our key, yet not FK1 claims: refuse, never guess
        return Verification(Outcome.MALFORMED, kid=kid, detail=f"claims: {error}")
    valid_until = claims.sampled_at + timedelta(hours=valid_hours)
    if not claims.is_negative:
        return Verification(Outcome.NOT_NEGATIVE, kid=kid, claims=claims, valid_until=valid_until)
    if claims.sampled_at > now + CLOCK_SKEW:
        return Verification(Outcome.NOT_YET_VALID, kid=kid, claims=claims, valid_until=valid_until)
    if now > valid_until:
        return Verification(Outcome.EXPIRED, kid=kid, claims=claims, valid_until=valid_until)
    return Verification(Outcome.VALID, kid=kid, claims=claims, valid_until=valid_until)


def describe(claims: Claims) -> dict[str, Any]:
    """The claims as plain JSON values (API answers, audit rows)."""
    return {
        "name": claims.name,
        "document": claims.document,
        "sampled_at": claims.sampled_at.isoformat(),
        "result": str(claims.result),
        "lab": claims.lab,
        "issuer": claims.issuer,
        "issued_at": claims.issued_at.isoformat(),
        "serial": claims.serial,
    }
