"""What every testing service shares: the error type and its codes, permission and scope checks."""

from __future__ import annotations

from enum import StrEnum

from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope


class TestingErrorCode(StrEnum):
    """Codes a client can act on; per-item and per-row errors carry one of these (or a `codes.CodeErrorCode`)."""

    __test__ = False  # not a pytest test class despite the name

    INVALID = "invalid"
    ROUND_NOT_OPEN = "round_not_open"
    OUTSIDE_ROUND = "outside_round"
    POOL_SIZE = "pool_size"
    SAMPLED_AT = "sampled_at"
    PERSON_UNKNOWN = "person_unknown"
    PERSON_MERGED = "person_merged"
    TUBE_USED = "tube_used"  # the barcode belongs to another round or site: never reused
    TUBE_CLOSED = "tube_closed"
    TUBE_FULL = "tube_full"
    TUBE_UNKNOWN = "tube_unknown"
    TUBE_STATE = "tube_state"  # not in the state the step needs (not closed for handover, not received for a result)
    TUBE_REPEATED = "tube_repeated"  # the same barcode twice in one handover / file
    WRONG_LAB = "wrong_lab"
    COLUMNS = "columns"
    RESULT_VALUE = "result_value"
    CT_VALUE = "ct_value"
    RESULTED_AT = "resulted_at"
    ALREADY_RESULTED = "already_resulted"
    ALREADY_IMPORTED = "already_imported"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    BATCH_TOO_LARGE = "batch_too_large"
    ALREADY_DONE = "already_done"


def code_of(value: str) -> StrEnum:
    """The enum member for an error code string (testing's own codes or the scanning codes)."""
    from fangkong.testing.codes import CodeErrorCode

    if value in CodeErrorCode.__members__.values():
        return CodeErrorCode(value)
    if value in TestingErrorCode.__members__.values():
        return TestingErrorCode(value)
    return TestingErrorCode.INVALID


class TestingError(DomainError):
    __test__ = False  # not a pytest test class despite the name

    default_code = ErrorCode.INVALID


def require(user: User | None, capability: Capability) -> None:
    """`None` is the system acting on its own (a reaction inside another service); staff need the capability."""
    if user is not None and not user.can(capability):
        raise PermissionDeniedError()


def require_in_scope(path: str | None, user: User | None) -> None:
    if user is not None and not is_in_scope(path, user):
        raise PermissionDeniedError()
