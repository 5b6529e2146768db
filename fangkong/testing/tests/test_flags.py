"""Sampling flags reviewed through `review_flag`: confirmed or dismissed with a note, audited, once; the page
lists open flags by round, kind and community with links to both samples and to the person page."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.testing import selectors, services
from fangkong.testing.models import FlagDecision, FlagKind, FlagStatus, SamplingFlag
from fangkong.testing.services import SampleItem, TestingError
from fangkong.testing.tests.conftest import resident_id


@pytest.fixture(autouse=True)
def english(client: Any) -> Any:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def flags(site, test_round, sampler_user) -> dict[str, SamplingFlag]:
    """A person swabbed twice (a duplicate_in_round flag) and an unknown person registered on the spot."""
    twice = resident_id(700)
    services.register_samples(
        site,
        test_round=test_round,
        by=sampler_user,
        items=[
            SampleItem(person_code=twice, tube_barcode="FL00000001", name="两次"),
            SampleItem(person_code=twice, tube_barcode="FL00000002"),
        ],
    )
    return {
        "duplicate": SamplingFlag.objects.get(kind=FlagKind.DUPLICATE_IN_ROUND),
        "on_spot": SamplingFlag.objects.get(kind=FlagKind.REGISTERED_ON_SPOT),
    }


def test_confirm_and_dismiss_with_a_note_audited(flags, sampler_user):
    confirmed = services.review_flag(flags["duplicate"], decision="confirmed", note="确系重复采样", by=sampler_user)
    assert (confirmed.status, confirmed.decision, confirmed.note) == (
        FlagStatus.RESOLVED,
        FlagDecision.CONFIRMED,
        "确系重复采样",
    )
    assert confirmed.resolved_by == sampler_user and confirmed.resolved_at is not None
    dismissed = services.review_flag(flags["on_spot"], decision="dismissed", note="信息已核对", by=sampler_user)
    assert dismissed.decision == FlagDecision.DISMISSED
    assert AuditEntry.objects.filter(action="testing.flag.review").count() == 2


def test_refusals_name_the_field(flags, sampler_user):
    flag = flags["duplicate"]
    with pytest.raises(TestingError) as no_note:
        services.review_flag(flag, decision="confirmed", note="  ", by=sampler_user)
    assert no_note.value.field == "note"
    with pytest.raises(TestingError) as bad_decision:
        services.review_flag(flag, decision="maybe", note="x", by=sampler_user)
    assert bad_decision.value.field == "decision"
    services.review_flag(flag, decision="dismissed", note="ok", by=sampler_user)
    with pytest.raises(TestingError) as twice:
        services.review_flag(flag, decision="confirmed", note="again", by=sampler_user)
    assert (twice.value.field, str(twice.value.code)) == ("flag", "already_done")
    flag.refresh_from_db()
    assert flag.decision == FlagDecision.DISMISSED


def test_scope_and_capability(flags, make_user, lab_user):
    worker_b = make_user(Role.COMMUNITY_WORKER, "b")
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDeniedError):
        services.review_flag(flags["duplicate"], decision="confirmed", note="x", by=worker_b)
    with pytest.raises(PermissionDeniedError):
        services.review_flag(flags["duplicate"], decision="confirmed", note="x", by=lab_user)
    assert AuditEntry.objects.count() == before
    assert SamplingFlag.objects.filter(status=FlagStatus.OPEN).count() == 2
    assert not selectors.flags_for(worker_b).exists()


def test_the_page_lists_filters_links_and_reviews(client, flags, sampler_user, test_round):
    client.force_login(sampler_user)
    page = client.get("/testing/flags/")
    body = page.content.decode()
    assert body.count('data-testid="flag-row"') == 2
    duplicate = flags["duplicate"]
    assert f"#sample-{duplicate.first_sample_id}" in body and f"#sample-{duplicate.sample_id}" in body
    assert f"/people/{flags['on_spot'].person_id}/" in body
    only = client.get(f"/testing/flags/?round={test_round.pk}&kind=duplicate_in_round")
    assert only.content.decode().count('data-testid="flag-row"') == 1
    refused = client.post(f"/testing/flags/{duplicate.pk}/review/", {"decision": "confirmed"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert 'data-testid="flag-error"' in refused.content.decode()
    done = client.post(
        f"/testing/flags/{duplicate.pk}/review/", {"decision": "confirmed", "note": "重复"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 200
    assert 'data-testid="flag-decision"' in done.content.decode()
    assert client.get("/testing/flags/").content.decode().count('data-testid="flag-row"') == 1
    assert client.get("/testing/flags/?show=all").content.decode().count('data-testid="flag-row"') == 2


def test_the_flag_list_pins_its_query_count(client, site, test_round, sampler_user, django_assert_max_num_queries):
    items = [SampleItem(person_code=resident_id(800 + n), tube_barcode="FQ00000001", name=f"新{n}") for n in range(10)]
    services.register_samples(site, test_round=test_round, by=sampler_user, items=items)
    client.force_login(sampler_user)
    with django_assert_max_num_queries(12):
        page = client.get("/testing/flags/")
    assert page.content.decode().count('data-testid="flag-row"') == 10
