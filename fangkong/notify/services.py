"""The one outbound-message service: every SMS and email goes through `send_sms` / `send_email`.

A message row is written first (masked address, template, status), delivery happens after the caller's
transaction commits, and the row's status records the outcome. An idempotency key makes a retried call a no-op.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.core.masking import mask_phone
from fangkong.core.models import User
from fangkong.notify.backends import DeliveryError, get_sms_backend
from fangkong.notify.models import Channel, Message, MessageStatus
from fangkong.notify.templates_registry import render_template


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _create(
    channel: str, *, to_masked: str, template: str, key: str | None, division_path: str, by: User | None
) -> tuple[Message, bool]:
    if key:
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = Message.objects.create(
                channel=channel,
                to_masked=to_masked,
                template=template,
                idempotency_key=key,
                division_path=division_path,
                created_by=by if by is not None and by.pk else None,
            )
    except IntegrityError:
        return Message.objects.get(idempotency_key=key), False
    return message, True


def _was_abandoned(message: Message) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    return message.status == MessageStatus.QUEUED and message.created_at < stale


def _deliver_sms(message_id: int, phone: str, text: str) -> None:
    backend = get_sms_backend()
    try:
        backend.send(phone, text, message_id=message_id)
    except DeliveryError as error:
        Message.objects.filter(pk=message_id).update(
            status=MessageStatus.FAILED, error=str(error)[:300], backend=type(backend).__name__
        )
    else:
        Message.objects.filter(pk=message_id).update(
            status=MessageStatus.SENT, sent_at=timezone.now(), backend=type(backend).__name__
        )


def send_sms(
    phone: str,
    *,
    template: str,
    context: dict[str, object],
    by: User | None = None,
    division_path: str = "",
    idempotency_key: str | None = None,
) -> Message:
    text = settings.SMS_SIGNATURE + render_template(template, context)
    message, created = _create(
        Channel.SMS,
        to_masked=mask_phone(phone),
        template=template,
        key=idempotency_key,
        division_path=division_path,
        by=by,
    )
    if created or _was_abandoned(message):
        # A retry that finds its message still queued long after it was recorded means the sender died between
        # recording and delivering: deliver it now (at least once; the gateway gets the message id to drop a
        # rare repeat).
        transaction.on_commit(lambda: _deliver_sms(message.pk, phone, text))
    return message


def send_email(
    address: str,
    *,
    subject: str,
    template: str,
    context: dict[str, object],
    by: User | None = None,
    division_path: str = "",
    idempotency_key: str | None = None,
) -> Message:
    text = render_template(template, context)
    message, created = _create(
        Channel.EMAIL,
        to_masked=_mask_email(address),
        template=template,
        key=idempotency_key,
        division_path=division_path,
        by=by,
    )

    def deliver() -> None:
        try:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception as error:  # noqa: BLE001 - any transport failure is recorded, never raised to the caller
            Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, error=str(error)[:300])
        else:
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.SENT, sent_at=timezone.now(), backend=settings.EMAIL_BACKEND[-60:]
            )

    if created:
        transaction.on_commit(deliver)
    return message
