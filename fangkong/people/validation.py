"""Checks a person's details before anything is written; shared by forms, the API and file imports.

Errors name the field (and, in imports, the row) so that a user knows exactly what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from fangkong.core import identity, phones
from fangkong.core.errors import DomainError, ErrorCode
from fangkong.core.models import Division, DivisionLevel
from fangkong.people.models import DocumentKind, Sex

IDENTITY_MESSAGES = {
    identity.IdentityErrorCode.EMPTY: _("no number given"),
    identity.IdentityErrorCode.FORMAT: _("must be 18 characters (17 digits and a digit or X) or 15 digits"),
    identity.IdentityErrorCode.CHECK_CHARACTER: _("the check character does not match (a digit is wrong)"),
    identity.IdentityErrorCode.BIRTH_DATE: _("the birth date in the number is impossible"),
    identity.IdentityErrorCode.REGION: _("the region code is not a Chinese province"),
    identity.IdentityErrorCode.SPREADSHEET_PRECISION: _(
        "the number lost its last digits in a spreadsheet (stored as a number); get the original"
    ),
}
PHONE_MESSAGES = {
    phones.PhoneErrorCode.EMPTY: _("no number given"),
    phones.PhoneErrorCode.FORMAT: _("not a valid mainland mobile number (11 digits starting with 13–19)"),
    phones.PhoneErrorCode.NOT_MOBILE: _("not a mainland mobile number"),
}


class PersonValidationError(DomainError):
    default_code = ErrorCode.INVALID


@dataclass(frozen=True)
class PersonInput:
    """A person as a form, an API call or an import row describes them (raw strings allowed)."""

    name: str
    division: str
    document_kind: str = DocumentKind.RESIDENT_ID
    document_number: str | None = None
    phone: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    address: str | None = None
    pinyin: str | None = None


@dataclass(frozen=True)
class ValidPerson:
    name: str
    division: Division
    document_kind: str
    document_number: str
    phone: str
    sex: str
    birth_date: date | None
    address: str
    pinyin: str


def _identity_kind(kind: str) -> identity.DocumentKind:
    try:
        return identity.DocumentKind[DocumentKind(kind).name]
    except (KeyError, ValueError) as error:
        raise PersonValidationError(_("Unknown document type."), field="document_kind") from error


def validate_person_input(data: PersonInput) -> ValidPerson:
    name = " ".join((data.name or "").split())
    if not name:
        raise PersonValidationError(_("Enter the person's name."), field="name")
    if len(name) > 100:
        raise PersonValidationError(_("The name is too long."), field="name")

    kind = data.document_kind or DocumentKind.RESIDENT_ID
    number = ""
    sex = data.sex or Sex.UNKNOWN
    birth_date = data.birth_date
    if data.document_number and data.document_number.strip():
        try:
            if kind == DocumentKind.RESIDENT_ID:
                resident = identity.validate_resident_id(data.document_number)
                number = resident.number
                if birth_date and birth_date != resident.birth_date:
                    raise PersonValidationError(
                        _("The date of birth does not match the ID number."), field="birth_date"
                    )
                if sex != Sex.UNKNOWN and sex != resident.sex:
                    raise PersonValidationError(_("The sex does not match the ID number."), field="sex")
                birth_date, sex = resident.birth_date, resident.sex
            else:
                number = identity.validate_document(_identity_kind(kind), data.document_number)
        except identity.IdentityError as error:
            raise PersonValidationError(
                _("Invalid document number: %(reason)s") % {"reason": IDENTITY_MESSAGES[error.code]},
                code=ErrorCode.INVALID,
                field="document_number",
            ) from error
    if sex not in Sex.values:
        raise PersonValidationError(_("Unknown sex."), field="sex")

    phone = ""
    if data.phone and data.phone.strip():
        try:
            phone = phones.normalize_mobile(data.phone)
        except phones.PhoneError as error:
            raise PersonValidationError(
                _("Invalid mobile number: %(reason)s") % {"reason": PHONE_MESSAGES[error.code]}, field="phone"
            ) from error
    if not number and not phone:
        raise PersonValidationError(_("Give at least a document number or a mobile number."), field="document_number")

    division = (
        Division.objects.filter(path=(data.division or "").strip()).first()
        or Division.objects.filter(code=(data.division or "").strip()).first()
    )
    if division is None:
        raise PersonValidationError(_("Unknown division code %(code)s.") % {"code": data.division}, field="division")
    if division.level != DivisionLevel.COMMUNITY:
        raise PersonValidationError(_("Choose a village or community."), field="division")

    return ValidPerson(
        name=name,
        division=division,
        document_kind=kind if number else "",
        document_number=number,
        phone=phone,
        sex=sex,
        birth_date=birth_date,
        address=" ".join((data.address or "").split())[:300],
        pinyin=(data.pinyin or "").strip(),
    )
