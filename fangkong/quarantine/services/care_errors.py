"""Error codes of the care services (monitoring, scheduled tests, release, home quarantine); the error type and
the capability/scope checks are `services.common`'s."""

from __future__ import annotations

from enum import StrEnum

from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.quarantine.services.common import QuarantineError, require, require_in_scope


class CareErrorCode(StrEnum):
    TEMPERATURE = "temperature"  # not a plausible body temperature (60 °C, 3.65, "abc")
    SYMPTOM = "symptom"
    NOT_ON_FLOOR = "not_on_floor"
    ALREADY_REPORTED = "already_reported"
    LINK_INVALID = "link_invalid"
    TEST_STATE = "test_state"
    RESULT = "result"
    REAGENT = "reagent"
    NOT_ELIGIBLE = "not_eligible"
    NOT_IN_CARE = "not_in_care"
    INVALID = "invalid"


class CareError(QuarantineError):
    """A refused monitoring, test, release or home-quarantine action; `field`/`row` name the bad input."""


def require_work(user: User | None, path: str | None, capability: Capability = Capability.QUARANTINE_WORK) -> None:
    """`user` (None: the system — a periodic job, a resident's signed link) holds the capability and the record
    at `path` is inside their jurisdiction."""
    require(user, capability)
    require_in_scope(path, user)
