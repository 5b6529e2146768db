"""The policy edition in force for a place: the city's chosen edition with its local overrides.

Every duration, test day and deadline the platform applies comes from here (data, not code). Changing the
edition is a service call, audited; records created afterwards follow the new rules.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.editions import EditionError, PolicyEdition, load_edition, with_overrides
from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.models import Division, PolicySetting, User
from fangkong.core.roles import Capability


def _city_path(path: str) -> str:
    return path[:4]


def active_edition(division_path: str | None) -> PolicyEdition:
    """The edition in force for a division (its city's newest setting), else the configured default."""
    setting = PolicySetting.objects.filter(division__path=_city_path(division_path)).first() if division_path else None
    if setting is None:
        return load_edition(getattr(settings, "FANGKONG_DEFAULT_EDITION", "ed8"))
    edition = load_edition(setting.edition_id)
    return with_overrides(edition, setting.overrides) if setting.overrides else edition


@transaction.atomic
def set_active_edition(city: Division, *, edition_id: str, overrides: dict[str, Any], by: User) -> PolicySetting:
    if not by.can(Capability.POLICY_MANAGE) or not (by.division_id and city.path.startswith(by.division_id)):
        raise PermissionDeniedError()
    try:
        edition = load_edition(edition_id)
        if overrides:
            with_overrides(edition, overrides)
    except EditionError as error:
        raise DomainError(_("Invalid policy setting: %(reason)s") % {"reason": str(error)}, field="edition") from error
    previous = PolicySetting.objects.filter(division=city).first()
    setting = PolicySetting.objects.create(division=city, edition_id=edition_id, overrides=overrides, changed_by=by)
    audit.record(
        "core.policy.set",
        by=by,
        target=setting,
        division_path=city.path,
        changes={
            "edition": [previous.edition_id if previous else None, edition_id],
            "overrides": [previous.overrides if previous else None, overrides],
        },
    )
    return setting
