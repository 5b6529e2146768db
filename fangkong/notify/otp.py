"""One-time codes sent by SMS: issue a code for a phone, then check what the person typed.

What is kept: an HMAC (keyed with SECRET_KEY) of the phone and one of the code, never either in plain text, so a
copy of the table reveals neither numbers nor codes. Codes are 6 digits from `secrets`, valid for 5 minutes, and
accept at most 5 tries; only the newest unused code of a phone is valid (asking again replaces the old one).

Limits, because every code costs an SMS and could be used to pester someone's phone: at most one code per phone
per 60 seconds and 5 per hour (counted from the table, with an atomic cache entry closing the race between two
concurrent requests), and per client IP address a ceiling on codes asked for and on codes tried (Django's
cache, fixed one-hour windows). These are security limits of this channel, not epidemic policy, so they live
here rather than in the policy editions.

The SMS goes through `notify.services.send_sms`, which delivers after the caller's transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.core.text import compact
from fangkong.notify.models import OneTimeCode
from fangkong.notify.services import send_sms

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
MAX_CODES_PER_PHONE_PER_HOUR = 5
IP_WINDOW_SECONDS = 3600
MAX_CODES_PER_IP_PER_HOUR = 30  # a community office or a village may share one address
MAX_CHECKS_PER_IP_PER_HOUR = 100


class OtpErrorCode(StrEnum):
    TOO_SOON = "otp_too_soon"
    TOO_MANY_FOR_PHONE = "otp_too_many_for_phone"
    TOO_MANY_FROM_ADDRESS = "otp_too_many_from_address"
    NO_CODE = "otp_no_code"
    EXPIRED = "otp_expired"
    WRONG = "otp_wrong"
    LOCKED = "otp_locked"


class CodeCheck(StrEnum):
    """The outcome of one try; `OK` means the code was right and is now used."""

    OK = "ok"
    NO_CODE = "no_code"
    EXPIRED = "expired"
    WRONG = "wrong"
    LOCKED = "locked"


class OtpError(DomainError):
    """A code that cannot be accepted; the form shows it on the code field."""

    def __init__(self, message: str | Promise, *, code: OtpErrorCode) -> None:
        super().__init__(message, code=code, field="code")


class RateLimitedError(DomainError):
    """Too many codes or tries: HTTP 429, with the seconds to wait."""

    status_code = 429

    def __init__(
        self, message: str | Promise, *, code: OtpErrorCode, retry_after: int, field: str | None = None
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class IssuedCode:
    expires_at: datetime
    resend_at: datetime
    minutes: int


def _keyed_digest(message: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def phone_digest(phone: str) -> str:
    """The keyed hash that stands for a phone in the table (the phone as 11 plain digits)."""
    return _keyed_digest(f"fangkong.otp.phone:{phone}")


def _code_digest(phone_hash: str, purpose: str, code: str) -> str:
    return _keyed_digest(f"fangkong.otp.code:{purpose}:{phone_hash}:{code}")


def _count_for_address(ip_address: str | None, action: str, limit: int) -> None:
    """Count one `action` from this address in the current window; refuse past `limit`."""
    if not ip_address:
        return
    now = time.time()
    window = int(now // IP_WINDOW_SECONDS)
    key = f"fangkong:otp:{action}:{_keyed_digest(ip_address)[:32]}:{window}"
    cache.add(key, 0, IP_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, IP_WINDOW_SECONDS)
        count = 1
    if count > limit:
        raise RateLimitedError(
            _("Too many requests from your network. Please try again later."),
            code=OtpErrorCode.TOO_MANY_FROM_ADDRESS,
            retry_after=int((window + 1) * IP_WINDOW_SECONDS - now),
        )


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds()) + 1


@transaction.atomic
def issue_code(
    phone: str, *, purpose: str, ip_address: str | None = None, division_path: str = "", now: datetime | None = None
) -> IssuedCode:
    """Make a code for `phone` (11 plain digits, already validated) and send it by SMS after commit."""
    now = now or timezone.now()
    _count_for_address(ip_address, "send", MAX_CODES_PER_IP_PER_HOUR)
    digest = phone_digest(phone)
    recent = OneTimeCode.objects.filter(phone_hash=digest, created_at__gt=now - timedelta(hours=1))
    last = recent.order_by("-created_at").first()
    if last is not None and last.created_at > now - RESEND_AFTER:
        raise RateLimitedError(
            _("A code was just sent to this number. Wait a minute before asking for another."),
            code=OtpErrorCode.TOO_SOON,
            retry_after=_seconds(last.created_at + RESEND_AFTER - now),
            field="phone",
        )
    sent = list(recent.order_by("created_at").values_list("created_at", flat=True)[:MAX_CODES_PER_PHONE_PER_HOUR])
    if len(sent) >= MAX_CODES_PER_PHONE_PER_HOUR:
        raise RateLimitedError(
            _("Too many codes for this number. Please try again in an hour."),
            code=OtpErrorCode.TOO_MANY_FOR_PHONE,
            retry_after=_seconds(sent[0] + timedelta(hours=1) - now),
            field="phone",
        )
    # Two requests at the same moment both see no recent code; only one of them gets this entry.
    if not cache.add(f"fangkong:otp:cooldown:{digest}", 1, int(RESEND_AFTER.total_seconds())):
        raise RateLimitedError(
            _("A code was just sent to this number. Wait a minute before asking for another."),
            code=OtpErrorCode.TOO_SOON,
            retry_after=int(RESEND_AFTER.total_seconds()),
            field="phone",
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = OneTimeCode.objects.create(
        phone_hash=digest,
        code_hash=_code_digest(digest, purpose, code),
        purpose=purpose,
        expires_at=now + CODE_VALID_FOR,
    )
    minutes = int(CODE_VALID_FOR.total_seconds() // 60)
    send_sms(
        phone,
        template="otp",
        context={"code": code, "minutes": minutes},
        division_path=division_path,
        idempotency_key=f"otp:{row.pk}",
    )
    return IssuedCode(expires_at=row.expires_at, resend_at=now + RESEND_AFTER, minutes=minutes)


@transaction.atomic
def check_code(phone: str, code: str, *, purpose: str, now: datetime | None = None) -> CodeCheck:
    """Try `code` against the newest unused code of `phone`; a right code is marked used (once).

    Returns the outcome instead of raising, so that a caller's transaction can commit the counted try and
    raise afterwards (see `verify_code`)."""
    now = now or timezone.now()
    digest = phone_digest(phone)
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(phone_hash=digest, purpose=purpose, used_at=None)
        .order_by("-created_at", "-id")
        .first()
    )
    if row is None:
        return CodeCheck.NO_CODE
    if row.expires_at <= now:
        return CodeCheck.EXPIRED
    counted = OneTimeCode.objects.filter(pk=row.pk, used_at=None, attempts__lt=MAX_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if counted != 1:
        return CodeCheck.LOCKED
    typed = compact(code)
    if not (len(typed) == CODE_DIGITS and typed.isascii() and typed.isdigit()):
        typed = ""
    if not typed or not hmac.compare_digest(row.code_hash, _code_digest(digest, purpose, typed)):
        return CodeCheck.LOCKED if row.attempts + 1 >= MAX_ATTEMPTS else CodeCheck.WRONG
    if OneTimeCode.objects.filter(pk=row.pk, used_at=None).update(used_at=now) != 1:
        return CodeCheck.NO_CODE
    return CodeCheck.OK


def count_check_from(ip_address: str | None) -> None:
    """Count one try of a code from this address; refuse past the hourly ceiling."""
    _count_for_address(ip_address, "check", MAX_CHECKS_PER_IP_PER_HOUR)


def error_for(outcome: CodeCheck) -> OtpError:
    messages = {
        CodeCheck.NO_CODE: (_("No code is waiting for this number. Ask for a code first."), OtpErrorCode.NO_CODE),
        CodeCheck.EXPIRED: (_("The code has expired. Ask for a new one."), OtpErrorCode.EXPIRED),
        CodeCheck.WRONG: (_("The code is not right. Check the SMS and try again."), OtpErrorCode.WRONG),
        CodeCheck.LOCKED: (_("Too many wrong tries for this code. Ask for a new one."), OtpErrorCode.LOCKED),
    }
    message, code = messages[outcome]
    return OtpError(message, code=code)


def verify_code(
    phone: str, code: str, *, purpose: str, ip_address: str | None = None, now: datetime | None = None
) -> None:
    """Accept `code` for `phone` or raise OtpError; a wrong try is counted even though the call raises."""
    count_check_from(ip_address)
    outcome = check_code(phone, code, purpose=purpose, now=now)
    if outcome is not CodeCheck.OK:
        raise error_for(outcome)
