"""Pluggable SMS backends. Email goes through Django's mail framework (EMAIL_BACKEND)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from string import Template
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from fangkong.core.masking import mask_phone


class DeliveryError(Exception):
    pass


class SmsBackend(Protocol):
    def send(self, phone: str, text: str, *, message_id: int) -> None: ...


class ConsoleSmsBackend:
    """Development: prints the message with the number masked."""

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        sys.stdout.write(f"[SMS to {mask_phone(phone)}] {text}\n")
        sys.stdout.flush()


class FileSmsBackend:
    """Development and tests: appends one JSON line per message (full number, so a tester can read codes)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"at": timezone.now().isoformat(), "id": message_id, "phone": phone, "text": text}, ensure_ascii=False
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class HttpGatewaySmsBackend:
    """An SMS gateway reached over HTTP: POSTs the body template (`$phone`, `$text` JSON-escaped, `$id`) to the
    configured URL with an optional bearer token; any non-2xx answer is a delivery failure."""

    def __init__(self, url: str | None = None, body: str | None = None, token: str | None = None) -> None:
        self.url = url or settings.SMS_GATEWAY_URL
        self.body = Template(body or settings.SMS_GATEWAY_BODY)
        self.token = token if token is not None else settings.SMS_GATEWAY_TOKEN
        if not self.url.startswith(("http://", "https://")):
            raise DeliveryError("FANGKONG_SMS_GATEWAY_URL is not set to an http(s) URL")

    def send(self, phone: str, text: str, *, message_id: int) -> None:
        escape = lambda value: json.dumps(value, ensure_ascii=False)[1:-1]  # noqa: E731
        payload = self.body.safe_substitute(phone=escape(phone), text=escape(text), id=message_id).encode()
        request = urllib.request.Request(self.url, data=payload, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"gateway answered {response.status}")
        except urllib.error.HTTPError as error:
            raise DeliveryError(f"gateway answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError) as error:
            raise DeliveryError(f"gateway unreachable: {error}") from error


def get_sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
