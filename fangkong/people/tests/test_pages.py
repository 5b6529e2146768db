"""A few view tests per page; scoping and roles are covered by tests/test_permission_matrix.py."""

from __future__ import annotations

import re

import pytest

from fangkong.core.masking import find_unmasked
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.people.models import Person

ID_A = "11010519491231002X"


@pytest.fixture
def worker_client(client, make_user):
    user = make_user(Role.COMMUNITY_WORKER, "a")
    client.force_login(user)
    client.user = user
    return client


def test_search_finds_by_name_masked_id_phone_and_tail(worker_client, register):
    person = register("a", name="张三", document_number=ID_A, phone="13812345678")
    register("a", name="李四", phone="13900000000")
    for query in ["张三", "110105********002X", "110105*002X", "13812345678", "5678", ID_A, "zhang"]:
        response = worker_client.get("/people/", {"q": query})
        assert response.status_code == 200
        assert f"/people/{person.pk}/" in response.content.decode(), query
        assert "李四" not in response.content.decode(), query


def test_search_page_query_count_is_flat(worker_client, register, django_assert_max_num_queries):
    for n in range(30):
        register("a", name=f"人{n}", phone=f"138000000{n:02d}")
    with django_assert_max_num_queries(8):
        worker_client.get("/people/")


def test_person_page_masks_and_reveal_posts_are_audited(worker_client, register):
    person = register("a", document_number=ID_A, phone="13812345678")
    page = worker_client.get(f"/people/{person.pk}/").content.decode()
    assert "110105********002X" in page and "138****5678" in page
    assert find_unmasked(page) == []
    response = worker_client.post(f"/people/{person.pk}/reveal/", {"field": "phone", "reason": "电话回访"})
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert AuditEntry.objects.get(action="people.person.reveal_phone").reason == "电话回访"
    refused = worker_client.post(f"/people/{person.pk}/reveal/", {"field": "phone", "reason": ""})
    assert refused.status_code == 400 and "13812345678" not in refused.content.decode()


def test_register_form_shows_field_errors_and_saves_nothing(worker_client, tree):
    response = worker_client.post(
        "/people/new/",
        {
            "name": "张三",
            "document_kind": "resident_id",
            "document_number": "110105194912310021",
            "sex": "U",
            "division": tree["a"].path,
        },
    )
    assert response.status_code == 200
    assert (
        re.search(r"errorlist.*?check", response.content.decode(), re.S | re.I) or "校验" in response.content.decode()
    )
    assert Person.objects.count() == 0
    created = worker_client.post(
        "/people/new/",
        {
            "name": "张三",
            "document_kind": "resident_id",
            "document_number": ID_A,
            "sex": "U",
            "division": tree["a"].path,
        },
    )
    assert created.status_code == 302 and Person.objects.count() == 1


def test_pages_render_in_chinese_and_english(worker_client, register):
    register("a", document_number=ID_A)
    assert "退出" in worker_client.get("/people/").content.decode()
    worker_client.post("/i18n/setlang/", {"language": "en", "next": "/people/"})
    assert "Log out" in worker_client.get("/people/").content.decode()
