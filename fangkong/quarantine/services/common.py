"""What every quarantine service shares: the error type and its codes, the capability and scope checks, and the
placement terms read from the policy edition (the one place quarantine lengths and test days are looked up)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from fangkong.core.editions import PolicyEdition
from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.quarantine.models import (
    PLACEMENT_REASONS,
    TEMPERATURE_MAX_C,
    TEMPERATURE_MIN_C,
    PlacementKind,
    PlacementReason,
)
from fangkong.quarantine.schedule import HOME, Terms, terms_for


class QuarantineErrorCode(StrEnum):
    ALREADY_PLACED = "already_placed"
    NOT_AWAITING_PLACEMENT = "not_awaiting_placement"
    NOT_QUARANTINED_BY_POLICY = "not_quarantined_by_policy"
    SITE_NOT_ACCEPTING = "site_not_accepting"
    SITE_NOT_READY = "site_not_ready"
    SITE_OCCUPIED = "site_occupied"
    ROOM_TAKEN = "room_taken"
    ROOM_TOO_SMALL = "room_too_small"
    ROOM_NUMBER_TAKEN = "room_number_taken"
    INVALID_COMPANION = "invalid_companion"
    INVALID_STATUS_CHANGE = "invalid_status_change"
    TEMPERATURE_IMPLAUSIBLE = "temperature_implausible"
    OUTSIDE_LOOP = "outside_loop"
    INVALID = "invalid"


class QuarantineError(DomainError):
    """A refused quarantine action; `code` is a QuarantineErrorCode, `field`/`row` name the bad input."""


def require(user: User | None, capability: Capability) -> None:
    """`by=None` is the system (jobs, the demo); a person must hold the capability."""
    if user is not None and not user.can(capability):
        raise PermissionDeniedError()


def require_in_scope(path: str | None, user: User | None) -> None:
    if user is not None and not is_in_scope(path, user):
        raise PermissionDeniedError()


def checked_temperature(value: object, *, field: str = "temperature", row: int | None = None) -> Decimal:
    """A body temperature in °C with one decimal, inside the plausible range; anything else is refused with a
    message that says the range (60 °C is a typing error, not a fever)."""
    try:
        temperature = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise QuarantineError(
            _("Enter a temperature in °C, e.g. 36.6."),
            code=QuarantineErrorCode.TEMPERATURE_IMPLAUSIBLE,
            field=field,
            row=row,
        ) from None
    if not Decimal(str(TEMPERATURE_MIN_C)) <= temperature <= Decimal(str(TEMPERATURE_MAX_C)):
        raise QuarantineError(
            _("%(value)s °C is not a plausible body temperature (%(low)s–%(high)s °C).")
            % {"value": temperature, "low": TEMPERATURE_MIN_C, "high": TEMPERATURE_MAX_C},
            code=QuarantineErrorCode.TEMPERATURE_IMPLAUSIBLE,
            field=field,
            row=row,
        )
    return temperature


def placement_terms(edition: PolicyEdition, *, reason: str, start_date: date) -> Terms:
    """The terms `edition` sets for a person quarantined for `reason`, exposure on `start_date` (see
    `quarantine.schedule.terms_for`, the one place they are read from the edition). An edition that does not
    quarantine people for this reason (secondary contacts in the 9th edition's twenty measures) places nobody."""
    if reason not in PLACEMENT_REASONS:
        raise QuarantineError(_("Unknown quarantine reason."), code=QuarantineErrorCode.INVALID, field="reason")
    if reason == PlacementReason.SECONDARY_CONTACT and (
        not edition.secondary_contact.identified or edition.secondary_contact.setting not in ("centralized", "home")
    ):
        raise QuarantineError(
            _("The policy edition %(edition)s does not quarantine secondary contacts.") % {"edition": edition.id},
            code=QuarantineErrorCode.NOT_QUARANTINED_BY_POLICY,
            field="reason",
        )
    terms = terms_for(edition, reason=reason, start_date=start_date)
    if terms.quarantine_days <= 0:
        raise QuarantineError(
            _("The policy edition %(edition)s sets no quarantine for this reason.") % {"edition": edition.id},
            code=QuarantineErrorCode.NOT_QUARANTINED_BY_POLICY,
            field="reason",
        )
    return terms


def placement_kind(terms: Terms) -> str:
    return PlacementKind.HOME if terms.setting == HOME else PlacementKind.CENTRAL


def placement_reason(reasons: list[str]) -> str | None:
    """The reason a ledger entry is placed for, or None when none of its reasons leads to quarantine."""
    return next((reason for reason in PLACEMENT_REASONS if reason in reasons), None)
