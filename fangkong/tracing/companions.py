"""Spatio-temporal companion screening for cases: the engine's query over the carrier pings (Parquet), its
results into the screening loop with their evidence, and into the case as suggested contacts.

Pings are never loaded into the ORM: the engine reads Parquet and returns one Arrow row per (case, companion).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.jobs import JobContext, job_handler, start_job
from fangkong.core.models import Job, User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.engine import CaseWindow, find_companions
from fangkong.people.services import register_mobile_only
from fangkong.screening import services as screening
from fangkong.screening.models import Reason, Source
from fangkong.tracing.models import Case, Category, Contact, ContactStatus, Setting
from fangkong.tracing.services import infectious_period_start

COMPANION_JOB = "tracing.companion_screening"


def pings_directory() -> Path:
    return Path(getattr(settings, "PINGS_DIR", Path(settings.VAR_DIR) / "pings"))


def start_companion_screening(cases: list[Case], *, by: User) -> Job:
    if not by.can(Capability.TRACING_WORK):
        raise PermissionDeniedError()
    if not cases or any(not is_in_scope(case.division_id, by) for case in cases):
        raise DomainError(_("Choose cases in your jurisdiction."), field="cases")
    if not pings_directory().exists():
        raise DomainError(_("No location data is configured (FANGKONG_PINGS_DIR)."), field="cases")
    return start_job(COMPANION_JOB, params={"cases": [case.pk for case in cases]}, by=by, division_path=by.division_id)


def _window(case: Case) -> CaseWindow:
    start = infectious_period_start(case)
    zone = timezone.get_current_timezone()
    return CaseWindow(
        phone=int(case.person.phone),
        start=dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        end=case.reported_at,
    )


def screen_companions(cases: list[Case], *, by: User | None, reference: str, progress: Any = None) -> dict[str, int]:
    """Run the query for these cases and put every companion in the loop (idempotent per reference)."""
    with_phone = [case for case in cases if case.person.phone]
    if not with_phone:
        return {"cases": 0, "companions": 0, "listed": 0}
    rules = active_edition(with_phone[0].division_id).companion
    as_of = max(case.reported_at for case in with_phone)
    result = find_companions(
        pings_directory(),
        [_window(case) for case in with_phone],
        as_of=as_of,
        min_overlap_minutes=rules.min_overlap_minutes,
        lookback_days=rules.lookback_days,
    )
    by_phone = {int(case.person.phone): case for case in with_phone}
    listed = 0
    rows = result.select(
        ["case_phone", "companion_phone", "overlap_minutes", "cells", "first_overlap_start", "last_overlap_end"]
    ).to_pylist()
    for index, row in enumerate(rows):
        case = by_phone[row["case_phone"]]
        phone = str(row["companion_phone"])
        evidence = {
            "case": case.number,
            "minutes": round(row["overlap_minutes"], 1),
            "cells": row["cells"][:20],
            "from": row["first_overlap_start"].isoformat(),
            "until": row["last_overlap_end"].isoformat(),
        }
        with transaction.atomic():
            person = register_mobile_only(  # the registry's person with this number, or a new mobile-only one
                phone, division=case.division, source=Source.COMPANION_SCREENING, reference=reference, by=by
            )
            listing = screening.list_person(
                person,
                reason=Reason.COMPANION,
                source=Source.COMPANION_SCREENING,
                reference=f"{reference}:{case.number}:{phone}",
                by=None,
                data=evidence,
            )
            listed += int(listing.created)
            Contact.objects.get_or_create(
                case=case,
                person=person,
                category=Category.CLOSE,
                defaults={
                    "setting": Setting.COMPANION,
                    "status": ContactStatus.SUGGESTED,
                    "evidence": _("%(minutes)s min in the same grid cell") % {"minutes": evidence["minutes"]},
                },
            )
        if progress is not None and index % 100 == 0:
            progress(index, len(rows))
    return {"cases": len(with_phone), "companions": len(rows), "listed": listed}


@job_handler(COMPANION_JOB, queue="analytics")
def companion_job(context: JobContext) -> dict[str, Any]:
    cases = list(Case.objects.select_related("person", "division").filter(pk__in=context.job.params["cases"]))
    creator = User.objects.filter(pk=context.job.created_by_id).first() if context.job.created_by_id else None
    return screen_companions(
        cases, by=creator, reference=f"job-{context.job.pk}", progress=lambda d, t: context.progress(d, t)
    )
