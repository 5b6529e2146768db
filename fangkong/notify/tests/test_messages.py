from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from fangkong.notify.backends import HttpGatewaySmsBackend
from fangkong.notify.models import Message, MessageStatus
from fangkong.notify.services import send_email, send_sms


class Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append({"body": json.loads(body), "auth": self.headers.get("Authorization")})
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway():
    Gateway.received, Gateway.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send"
    server.shutdown()


def test_sms_is_recorded_masked_and_delivered_after_commit(db, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_sms("13812345678", template="otp", context={"code": "4711", "minutes": 5})
    assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED
    assert not settings.SMS_FILE_PATH.exists()  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    message.refresh_from_db()
    assert (message.to_masked, message.template, message.status) == ("138****5678", "otp", MessageStatus.SENT)
    line = json.loads(settings.SMS_FILE_PATH.read_text().strip())
    assert line["phone"] == "13812345678" and "4711" in line["text"]


def test_a_retried_send_with_the_same_key_sends_once(db, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = send_sms("13812345678", template="otp", context={"code": "1", "minutes": 5}, idempotency_key="k1")
        second = send_sms("13812345678", template="otp", context={"code": "1", "minutes": 5}, idempotency_key="k1")
    assert first.pk == second.pk and Message.objects.count() == 1
    assert len(settings.SMS_FILE_PATH.read_text().splitlines()) == 1


def test_http_gateway_backend_posts_the_configured_body(db, settings, gateway, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "fangkong.notify.backends.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = gateway
    settings.SMS_GATEWAY_BODY = '{"to": "$phone", "msg": "$text", "sign": "防控"}'
    settings.SMS_GATEWAY_TOKEN = "secret-token"
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms("13812345678", template="notice", context={"text": '请"今天"检测'})
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.backend == "HttpGatewaySmsBackend"
    assert Gateway.received[0]["body"]["to"] == "13812345678"
    assert Gateway.received[0]["body"]["msg"].endswith('请"今天"检测')
    assert Gateway.received[0]["auth"] == "Bearer secret-token"


def test_gateway_failure_is_recorded_not_raised(db, settings, gateway, django_capture_on_commit_callbacks):
    Gateway.status = 503
    settings.SMS_BACKEND = "fangkong.notify.backends.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = gateway
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms("13812345678", template="notice", context={"text": "x"})
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "503" in message.error


def test_gateway_backend_refuses_a_missing_url(settings):
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(Exception, match="GATEWAY_URL"):
        HttpGatewaySmsBackend()


def test_email_goes_through_django_mail_and_is_recorded(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_email("zhang.san@example.cn", subject="通知", template="notice", context={"text": "明天检测"})
    message.refresh_from_db()
    assert message.to_masked == "z***@example.cn" and message.status == MessageStatus.SENT
    assert mail.outbox[0].body == "明天检测"
