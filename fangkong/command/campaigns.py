"""SMS campaigns to the residents of a division (e.g. "everyone in 东社区: test today at the square").

A campaign is a background job. It walks the recipients in id order, checkpointing after each batch, and
sends through the one message service with a key per campaign and person — so a campaign interrupted by a
restart resumes where it stopped and nobody gets the message twice.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.jobs import JobContext, job_handler, start_job
from fangkong.core.models import Job, User
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.notify.services import send_sms
from fangkong.people.selectors import recipients_in_division

CAMPAIGN_JOB = "command.sms_campaign"
BATCH = 200
MAX_TEXT = 300


def start_campaign(*, division_path: str, text: str, by: User) -> Job:
    if not by.can(Capability.MESSAGES_SEND):
        raise PermissionDeniedError()
    text = " ".join((text or "").split())
    if not text:
        raise DomainError(_("Write the message."), field="text")
    if len(text) > MAX_TEXT:
        raise DomainError(_("The message is longer than 300 characters."), field="text")
    if not is_in_scope(division_path, by):
        raise DomainError(_("This division is outside your jurisdiction."), field="division")
    return start_job(CAMPAIGN_JOB, params={"division": division_path, "text": text}, by=by, division_path=division_path)


@job_handler(CAMPAIGN_JOB, queue="messages")
def campaign_job(context: JobContext) -> dict[str, Any]:
    job = context.job
    creator = User.objects.filter(pk=job.created_by_id).first() if job.created_by_id is not None else None
    recipients = recipients_in_division(job.params["division"])
    total = recipients.count()
    last_id = int(job.state.get("last_person_id", 0))
    sent = int(job.state.get("sent", 0))
    delay = float(os.environ.get("FANGKONG_CAMPAIGN_DELAY_SECONDS", "0"))  # a gateway's rate limit, if any
    context.progress(sent, total)
    while True:
        batch = list(
            recipients.filter(pk__gt=last_id).order_by("pk").values_list("pk", "phone", "home_division_id")[:BATCH]
        )
        if not batch:
            break
        for person_id, phone, division_path in batch:
            send_sms(
                phone,
                template="notice",
                context={"text": job.params["text"]},
                by=creator,
                division_path=str(division_path),
                idempotency_key=f"campaign:{job.pk}:{person_id}",
            )
            sent += 1
            if delay:
                time.sleep(delay)
        last_id = batch[-1][0]
        context.checkpoint(last_person_id=last_id, sent=sent)
        context.progress(sent, total)
    return {"recipients": total, "sent": sent}
