"""What a sampling station scans: tube barcodes and person codes, checked before anything touches the database.

Tube barcode: 8 to 24 characters, letters A–Z and digits, with inner hyphens allowed (a label printer's
groups); letters are upper-cased and surrounding spaces dropped. A scan that is really a person's ID number or
a personal QR code is refused with its own message: it is the commonest station mistake (scanning the wrong
thing into the tube field).

Person code, one of:
- a resident ID number (18 characters, or the legacy 15 digits), checked by `core.identity` (check character,
  birth date, region);
- a personal QR payload `FKP1.<person id>.<signature>`: the signature is Django's signing (HMAC-SHA256 over the
  SECRET_KEY with the salt below), so a QR cannot be edited to point at someone else. It carries no identity in
  clear and is what the registry prints for people without a resident ID (foreigners, infants) or who prefer
  not to show their ID card. `person_qr_payload(person_id)` makes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from django.core import signing
from django.utils.translation import gettext_lazy as _

from fangkong.core import identity

BARCODE_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]{6,22})[A-Z0-9]$")
QR_PREFIX = "FKP1."
QR_SALT = "fangkong.testing.person-qr"


class CodeErrorCode(StrEnum):
    BARCODE_EMPTY = "barcode_empty"
    BARCODE_FORMAT = "barcode_format"
    BARCODE_IS_PERSON = "barcode_is_person_code"
    PERSON_CODE_EMPTY = "person_code_empty"
    PERSON_CODE_FORMAT = "person_code_format"
    PERSON_QR_SIGNATURE = "person_qr_signature"


MESSAGES = {
    CodeErrorCode.BARCODE_EMPTY: _("Scan the tube barcode."),
    CodeErrorCode.BARCODE_FORMAT: _(
        "Not a tube barcode: 8 to 24 letters and digits (hyphens only inside) are expected."
    ),
    CodeErrorCode.BARCODE_IS_PERSON: _("This is a person's code, not a tube barcode: scan the tube."),
    CodeErrorCode.PERSON_CODE_EMPTY: _("Scan the person's ID card or personal QR code."),
    CodeErrorCode.PERSON_CODE_FORMAT: _("Not an ID number or a personal QR code: %(reason)s"),
    CodeErrorCode.PERSON_QR_SIGNATURE: _("This personal QR code is not genuine (its signature does not match)."),
}


class CodeError(ValueError):
    def __init__(self, code: CodeErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_barcode(raw: object) -> str:
    """The barcode as stored, or CodeError. Pure; safe to call on anything a scanner or a file produced."""
    text = "" if raw is None else str(raw)
    if isinstance(raw, float) and raw.is_integer():  # a spreadsheet cell holding a numeric barcode
        text = str(int(raw))
    text = text.strip().upper()
    if not text:
        raise CodeError(CodeErrorCode.BARCODE_EMPTY, str(MESSAGES[CodeErrorCode.BARCODE_EMPTY]))
    if text.startswith(QR_PREFIX):
        raise CodeError(CodeErrorCode.BARCODE_IS_PERSON, str(MESSAGES[CodeErrorCode.BARCODE_IS_PERSON]))
    if not BARCODE_RE.match(text):
        raise CodeError(CodeErrorCode.BARCODE_FORMAT, str(MESSAGES[CodeErrorCode.BARCODE_FORMAT]))
    if len(text) in (15, 18) and _is_resident_id(text):
        raise CodeError(CodeErrorCode.BARCODE_IS_PERSON, str(MESSAGES[CodeErrorCode.BARCODE_IS_PERSON]))
    return text


def _is_resident_id(text: str) -> bool:
    try:
        identity.validate_resident_id(text)
    except identity.IdentityError:
        return False
    return True


@dataclass(frozen=True)
class PersonCode:
    """A scanned person: by resident ID number (`document_number`) or by registry id from a QR (`person_id`)."""

    document_number: str = ""
    person_id: int | None = None


def person_qr_payload(person_id: int) -> str:
    """The text a personal QR code holds for `person_id` (signed; no identity in clear)."""
    return QR_PREFIX + signing.Signer(salt=QR_SALT, sep=".").sign(str(person_id))


def parse_person_code(raw: object) -> PersonCode:
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise CodeError(CodeErrorCode.PERSON_CODE_EMPTY, str(MESSAGES[CodeErrorCode.PERSON_CODE_EMPTY]))
    if text.startswith(QR_PREFIX):
        try:
            value = signing.Signer(salt=QR_SALT, sep=".").unsign(text[len(QR_PREFIX) :])
        except signing.BadSignature as error:
            raise CodeError(
                CodeErrorCode.PERSON_QR_SIGNATURE, str(MESSAGES[CodeErrorCode.PERSON_QR_SIGNATURE])
            ) from error
        if not value.isdigit():
            raise CodeError(CodeErrorCode.PERSON_QR_SIGNATURE, str(MESSAGES[CodeErrorCode.PERSON_QR_SIGNATURE]))
        return PersonCode(person_id=int(value))
    try:
        resident = identity.validate_resident_id(text)
    except identity.IdentityError as error:
        from fangkong.people.validation import IDENTITY_MESSAGES

        raise CodeError(
            CodeErrorCode.PERSON_CODE_FORMAT,
            str(MESSAGES[CodeErrorCode.PERSON_CODE_FORMAT] % {"reason": IDENTITY_MESSAGES[error.code]}),
        ) from error
    return PersonCode(document_number=resident.number)
