"""Every outbound SMS and email, recorded with a masked address, its template and its delivery status."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import User


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    SCOPE_FIELD: ClassVar[str] = "division_path"

    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    to_masked = models.CharField(_("to"), max_length=120)
    template = models.CharField(_("template"), max_length=60)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    backend = models.CharField(_("backend"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True, null=True, blank=True)
    division_path = models.CharField(_("jurisdiction"), max_length=12, blank=True, db_index=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.channel} {self.template} → {self.to_masked}"


class OneTimeCode(models.Model):
    """A verification code sent by SMS. Only a hash of the phone and of the code are kept."""

    phone_hash = models.CharField(_("phone (hash)"), max_length=64, db_index=True)
    code_hash = models.CharField(_("code (hash)"), max_length=64)
    purpose = models.CharField(_("purpose"), max_length=30)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
