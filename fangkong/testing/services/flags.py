"""Reviewing sampling flags: a second swab of a person in one round (`duplicate_in_round`) or a person
registered on the spot (`registered_on_spot`). A reviewer of the flag's community confirms it (the flag was
right: e.g. a second swab really taken, or a registration checked and corrected on the person page) or dismisses
it (nothing wrong), always with a note. A reviewed flag is not reviewed again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.testing.models import FlagDecision, FlagStatus, SamplingFlag
from fangkong.testing.services.common import TestingError, TestingErrorCode, require, require_in_scope


@transaction.atomic
def review_flag(flag: SamplingFlag, *, decision: str, note: str, by: User | None) -> SamplingFlag:
    """Confirm or dismiss an open flag with a note. Refused: an unknown decision (`decision`), an empty note
    (`note`), a flag already reviewed (`flag`, `already_done`)."""
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(flag.division_id, by)
    if decision not in FlagDecision.values:
        raise TestingError(_("Confirm or dismiss the flag."), field="decision")
    note = " ".join(note.split())
    if not note:
        raise TestingError(_("Write a note on what you found."), field="note")
    now = timezone.now()
    updated = SamplingFlag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(
        status=FlagStatus.RESOLVED,
        decision=decision,
        note=note[:300],
        resolved_at=now,
        resolved_by=by if by is not None and by.pk else None,
    )
    if not updated:
        raise TestingError(_("This flag was already reviewed."), code=TestingErrorCode.ALREADY_DONE, field="flag")
    audit.record(
        "testing.flag.review",
        by=by,
        target=flag,
        division_path=flag.division_id,
        changes={
            "status": [FlagStatus.OPEN, FlagStatus.RESOLVED],
            "decision": [None, decision],
            "note": [flag.note or None, note[:300]],
        },
    )
    return SamplingFlag.objects.get(pk=flag.pk)
