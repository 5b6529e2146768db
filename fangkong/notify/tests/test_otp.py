"""One-time codes: only hashes are kept, codes arrive by SMS after commit, tries and sends are limited."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from fangkong.notify import otp
from fangkong.notify.models import Message, OneTimeCode

PHONE = "13812345678"
PURPOSE = "test"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def codes_sent(settings_, phone: str = PHONE) -> list[str]:
    path = settings_.SMS_FILE_PATH
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [re.search(r"\d{6}", line["text"]).group(0) for line in lines if line["phone"] == phone]


def issue(django_capture_on_commit_callbacks, phone: str = PHONE, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return otp.issue_code(phone, purpose=PURPOSE, **kwargs)


def age_codes(seconds: int) -> None:
    """Move every code back in time, as if `seconds` had passed (and the cache entries had expired)."""
    for row in OneTimeCode.objects.all():
        OneTimeCode.objects.filter(pk=row.pk).update(
            created_at=row.created_at - timedelta(seconds=seconds),
            expires_at=row.expires_at - timedelta(seconds=seconds),
        )
    cache.clear()


def test_a_code_is_sent_by_sms_after_commit_and_only_hashes_are_kept(db, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        issued = otp.issue_code(PHONE, purpose=PURPOSE)
        assert codes_sent(settings) == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    (code,) = codes_sent(settings)
    assert re.fullmatch(r"\d{6}", code)
    row = OneTimeCode.objects.get()
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert PHONE not in stored and code not in stored and PHONE[-4:] not in row.phone_hash
    assert row.expires_at - row.created_at == pytest.approx(timedelta(minutes=5), abs=timedelta(seconds=2))
    assert issued.minutes == 5
    message = Message.objects.get()
    assert message.template == "otp" and message.to_masked == "138****5678" and message.status == "sent"


def test_the_hash_is_keyed_with_the_secret_key(settings):
    first = otp.phone_digest(PHONE)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert otp.phone_digest(PHONE) != first


def test_the_right_code_is_accepted_once(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    (code,) = codes_sent(settings)
    otp.verify_code(PHONE, code, purpose=PURPOSE)
    assert OneTimeCode.objects.get().used_at is not None
    with pytest.raises(otp.OtpError) as error:
        otp.verify_code(PHONE, code, purpose=PURPOSE)
    assert error.value.code == otp.OtpErrorCode.NO_CODE and error.value.field == "code"


def test_full_width_digits_from_a_phone_keyboard_are_the_same_code(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    (code,) = codes_sent(settings)
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in code)
    otp.verify_code(PHONE, f" {full_width} ", purpose=PURPOSE)


def test_a_code_is_for_its_purpose_and_phone_only(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    (code,) = codes_sent(settings)
    assert otp.check_code(PHONE, code, purpose="other") == otp.CodeCheck.NO_CODE
    assert otp.check_code("13912345678", code, purpose=PURPOSE) == otp.CodeCheck.NO_CODE


def test_five_wrong_tries_lock_the_code_and_each_try_is_counted(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    (code,) = codes_sent(settings)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(1, 5):
        with pytest.raises(otp.OtpError) as error:
            otp.verify_code(PHONE, wrong, purpose=PURPOSE)
        assert error.value.code == otp.OtpErrorCode.WRONG
        assert OneTimeCode.objects.get().attempts == attempt  # counted, though the call raised
    with pytest.raises(otp.OtpError) as error:
        otp.verify_code(PHONE, "not a code", purpose=PURPOSE)
    assert error.value.code == otp.OtpErrorCode.LOCKED
    with pytest.raises(otp.OtpError) as error:
        otp.verify_code(PHONE, code, purpose=PURPOSE)  # the right code, too late
    assert error.value.code == otp.OtpErrorCode.LOCKED
    assert OneTimeCode.objects.get().used_at is None


def test_an_expired_code_is_refused(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    (code,) = codes_sent(settings)
    with pytest.raises(otp.OtpError) as error:
        otp.verify_code(PHONE, code, purpose=PURPOSE, now=timezone.now() + timedelta(minutes=5, seconds=1))
    assert error.value.code == otp.OtpErrorCode.EXPIRED


def test_one_code_a_minute_and_five_an_hour_per_phone(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    with pytest.raises(otp.RateLimitedError) as error:
        issue(django_capture_on_commit_callbacks)
    assert error.value.status_code == 429 and error.value.code == otp.OtpErrorCode.TOO_SOON
    assert 0 < error.value.retry_after <= 61 and error.value.field == "phone"
    for _ in range(4):
        age_codes(61)
        issue(django_capture_on_commit_callbacks)
    age_codes(61)
    with pytest.raises(otp.RateLimitedError) as error:
        issue(django_capture_on_commit_callbacks)
    assert error.value.code == otp.OtpErrorCode.TOO_MANY_FOR_PHONE
    assert OneTimeCode.objects.count() == 5 and len(codes_sent(settings)) == 5
    age_codes(3600)
    issue(django_capture_on_commit_callbacks)  # an hour later the phone may ask again


def test_a_new_code_replaces_the_old_one(db, settings, django_capture_on_commit_callbacks):
    issue(django_capture_on_commit_callbacks)
    age_codes(61)
    issue(django_capture_on_commit_callbacks)
    old, new = codes_sent(settings)
    if old != new:
        assert otp.check_code(PHONE, old, purpose=PURPOSE) == otp.CodeCheck.WRONG
    assert otp.check_code(PHONE, new, purpose=PURPOSE) == otp.CodeCheck.OK


def test_per_address_limits_on_sending_and_trying(db, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(otp, "MAX_CODES_PER_IP_PER_HOUR", 2)
    monkeypatch.setattr(otp, "MAX_CHECKS_PER_IP_PER_HOUR", 3)
    issue(django_capture_on_commit_callbacks, "13800000001", ip_address="10.0.0.1")
    issue(django_capture_on_commit_callbacks, "13800000002", ip_address="10.0.0.1")
    with pytest.raises(otp.RateLimitedError) as error:
        issue(django_capture_on_commit_callbacks, "13800000003", ip_address="10.0.0.1")
    assert error.value.code == otp.OtpErrorCode.TOO_MANY_FROM_ADDRESS and error.value.retry_after > 0
    issue(django_capture_on_commit_callbacks, "13800000003", ip_address="10.0.0.2")  # another address
    for _ in range(3):
        with pytest.raises(otp.OtpError):
            otp.verify_code("13800000001", "000000x", purpose=PURPOSE, ip_address="10.0.0.9")
    with pytest.raises(otp.RateLimitedError):
        otp.verify_code("13800000001", "000000x", purpose=PURPOSE, ip_address="10.0.0.9")
    assert OneTimeCode.objects.count() == 3
