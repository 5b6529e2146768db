"""The public self-report page, its QR code and poster, and the staff list."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from PIL import Image

from fangkong.core.masking import find_unmasked
from fangkong.core.roles import Role
from fangkong.notify import otp
from fangkong.people.models import Person
from fangkong.screening.models import PoolEntry, SelfReport
from fangkong.screening.tests.test_selfreport_services import (
    CONFIRMATION,
    last_code,
    report_input,
    resident_id,
    send_and_submit,
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def form_data(tree, **changes) -> dict[str, str]:
    values = {
        "name": "李返乡",
        "document_kind": "resident_id",
        "document_number": resident_id(),
        "phone": "13812345678",
        "origin_name": "某市某区",
        "arrived_on": (timezone.localdate()).isoformat(),
        "community": tree["a"].path,
        "address": "东街 3 号",
    }
    return values | changes


def hidden(body: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', body).group(1)


def test_the_page_is_public_lists_communities_by_name_and_has_csrf(client, tree):
    response = client.get("/report/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "东社区" in body and "王村" in body and "csrfmiddlewaretoken" in body
    assert 'value="410302001001"' in body
    preselected = client.get(f"/report/?community={tree['b'].path}").content.decode()
    assert re.search(rf'value="{tree["b"].path}" selected', preselected)


def test_the_two_steps_end_on_the_confirmation_with_masked_identity(
    client, tree, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        step1 = client.post("/report/", form_data(tree) | {"action": "send"})
    assert step1.status_code == 200
    body = step1.content.decode()
    assert 'data-testid="code-form"' in body and "138****5678" in body
    submission = hidden(body, "submission")
    assert len(submission) >= 24
    post = form_data(tree) | {"submission": submission, "code": last_code(settings), "action": "confirm"}
    done = client.post("/report/", post)
    assert done.status_code == 200
    page = done.content.decode()
    number = SelfReport.objects.get().confirmation
    assert CONFIRMATION.fullmatch(number) and number in page
    assert not find_unmasked(page) and resident_id() not in page and "李返乡" not in page
    again = client.post("/report/", post)  # a double tap or a retry
    assert again.status_code == 200 and number in again.content.decode()
    assert SelfReport.objects.count() == 1 and PoolEntry.objects.count() == 1


def test_no_personal_data_travels_in_a_url(client, tree):
    response = client.get("/report/", form_data(tree))
    assert response.status_code == 200 and Person.objects.count() == 0  # a GET with data saves nothing
    body = response.content.decode()
    assert 'method="post"' in body and 'method="get"' not in body


def test_csrf_is_enforced(tree):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/report/", form_data(tree) | {"action": "send"}).status_code == 403


def test_details_errors_show_on_their_field_and_write_nothing(client, tree):
    bad_id = resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")
    cases = {
        "document_number": {"document_number": bad_id},
        "phone": {"phone": "1234"},
        "arrived_on": {"arrived_on": (timezone.localdate() + timezone.timedelta(days=2)).isoformat()},
        "community": {"community": "410302009999"},
    }
    for field, change in cases.items():
        response = client.post("/report/", form_data(tree) | change | {"action": "send"})
        assert response.status_code == 400, field
        assert f'data-testid="error-{field}"' in response.content.decode(), field
    assert otp.OneTimeCode.objects.count() == 0 and Person.objects.count() == 0


def test_a_wrong_code_stays_on_the_code_step(client, tree, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = client.post("/report/", form_data(tree) | {"action": "send"}).content.decode()
    wrong = f"{(int(last_code(settings)) + 1) % 1_000_000:06d}"
    post = form_data(tree) | {"submission": hidden(body, "submission"), "code": wrong, "action": "confirm"}
    response = client.post("/report/", post)
    assert response.status_code == 400
    assert 'data-testid="error-code"' in response.content.decode() and SelfReport.objects.count() == 0


def test_too_many_codes_give_a_429_page(client, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/report/", form_data(tree) | {"action": "send"})
        response = client.post("/report/", form_data(tree) | {"action": "send"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert 'data-testid="rate-limited"' in response.content.decode()
    assert otp.OneTimeCode.objects.count() == 1


def test_the_qr_code_is_a_png_and_the_poster_is_public(client, tree):
    response = client.get("/report/qr.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 200
    poster = client.get(f"/report/poster/?community={tree['a'].path}")
    assert poster.status_code == 200
    body = poster.content.decode()
    assert f"/report/qr.png?community={tree['a'].path}" in body and "东社区" in body
    assert f"http://testserver/report/?community={tree['a'].path}" in body


def test_the_staff_list_is_scoped_and_its_query_count_is_pinned(
    client, tree, make_user, settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    send_and_submit(report_input(tree), settings, django_capture_on_commit_callbacks)
    cache.clear()
    other = report_input(tree, community=tree["b"].path, phone="13900000009", document_number=resident_id(9))
    send_and_submit(other, settings, django_capture_on_commit_callbacks, submission="t2")
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    with django_assert_max_num_queries(8):
        response = client.get("/report/list/")
    body = response.content.decode()
    assert response.status_code == 200 and body.count('data-testid="selfreport-row"') == 1
    assert SelfReport.objects.get(division=tree["a"]).confirmation in body
    assert SelfReport.objects.get(division=tree["b"]).confirmation not in body
    assert not find_unmasked(body)
