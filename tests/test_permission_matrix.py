"""The permission matrix: every URL and API operation, every role, own and other jurisdiction.

Nothing here lists the URLs: they are walked from the resolver, so a new page or endpoint joins the matrix
without edits — and fails it if it declares no capability, lets a role without that capability in, leaks a
community-B record to a community-A user, or lets a write through to a record outside the user's scope.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from fangkong.command.planning import PLAN_JOB
from fangkong.core.access import PUBLIC
from fangkong.core.models import AuditEntry, Job, User
from fangkong.core.roles import Capability, Role, capabilities_of
from fangkong.people.models import MergeCandidate, Person
from fangkong.screening.models import ListImport, PoolEntry, PoolEvent
from fangkong.screening.services import list_person
from fangkong.tracing.models import Contact
from fangkong.tracing.services import register_case

MARK_A, MARK_B = "甲测试人", "乙测试人"
ID_A, ID_B = "11010519491231002X", "440524188001010014"

# Built-in pages that need no capability, each with its reason.
PUBLIC_BUILTINS = {
    "api:api-root": "django-ninja's root route, which answers 404",
    "api:openapi-json": "the API schema is public documentation",
    "api:openapi-view": "the API docs page is public documentation",
}


@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str
    methods: tuple[str, ...]
    capability: str | None
    is_api: bool
    kwargs: tuple[str, ...]


def _django_methods(view: Any) -> tuple[str, ...]:
    allowed = getattr(view, "allowed_methods", None)
    return tuple(m for m in ("GET", "POST") if allowed is None or m in allowed) or ("GET",)


def walk(patterns: list[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator[Endpoint]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            space = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), space)
            continue
        assert isinstance(entry, URLPattern)
        route = prefix + str(entry.pattern)
        name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
        kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
        view = entry.callback
        path_view = next(
            (
                c.cell_contents
                for c in getattr(view, "__closure__", None) or ()
                if hasattr(c.cell_contents, "operations")
            ),
            None,
        )  # django-ninja wraps its PathView in a closure
        operations = getattr(path_view, "operations", None)
        if operations is not None:  # django-ninja: one URL, one operation per method
            for operation in operations:
                capability = getattr(operation.view_func, "required_capability", None)
                if name in PUBLIC_BUILTINS:
                    capability = PUBLIC
                yield Endpoint(route, name, tuple(operation.methods), capability, True, kwargs)
            continue
        capability = getattr(view, "required_capability", None)
        if name in PUBLIC_BUILTINS:
            capability = PUBLIC
        yield Endpoint(route, name, _django_methods(view), capability, route.startswith("api/"), kwargs)


def app_endpoints() -> list[Endpoint]:
    return [e for e in walk() if not e.route.startswith("admin/")]


def app_matrix_modules() -> list[Any]:
    """Each app may add its own records to the world and its own tables to the snapshot in
    `fangkong/<app>/tests/matrix.py`, with `world(tree, register, hq) -> {kwarg: (own_id, other_id)}` and
    `snapshot() -> tuple`; this file then needs no edit when an app adds a URL kwarg."""
    modules = []
    for config in apps.get_app_configs():
        if config.name.startswith("fangkong."):
            try:
                modules.append(importlib.import_module(f"{config.name}.tests.matrix"))
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.tests.matrix":
                    raise
    return modules


@pytest.fixture
def world(tree, register, make_user):
    """Two communities of one street, each with one person, a merge candidate and a job."""
    a = register("a", name=MARK_A, document_number=ID_A, phone="13811110001")
    a2 = register("a", name=MARK_A, phone="13811110001")
    b = register("b", name=MARK_B, document_number=ID_B, phone="13922220002")
    b2 = register("b", name=MARK_B, phone="13922220002")
    hq = User.objects.create_user(username="matrix-hq", role=Role.CITY_HQ, division=tree["city"])
    case_a = register_case(a2, kind="confirmed", first_positive_at=timezone.now(), by=hq)
    case_b = register_case(b2, kind="confirmed", first_positive_at=timezone.now(), by=hq)
    contact_a = Contact.objects.create(
        case=case_a, person=a, category="close_contact", setting="other", status="suggested"
    )
    contact_b = Contact.objects.create(
        case=case_b, person=b, category="close_contact", setting="other", status="suggested"
    )
    objects = {
        "person_id": (a.pk, b.pk),
        "candidate_id": (
            MergeCandidate.objects.get(person=a2).pk,
            MergeCandidate.objects.get(person=b2).pk,
        ),
        "job_id": (
            Job.objects.create(kind="test", division=tree["a"]).pk,
            Job.objects.create(kind="test", division=tree["b"]).pk,
        ),
        "entry_id": (
            list_person(a, reason="arrival", source="manual", by=None).entry.pk,
            list_person(b, reason="arrival", source="manual", by=None).entry.pk,
        ),
        "case_id": (case_a.pk, case_b.pk),
        "import_id": tuple(
            ListImport.objects.create(
                division=tree[w], source="police", file_name=f"{w}.csv", file_path="", sha256=w * 64, size=1
            ).pk
            for w in "ab"
        ),
        "contact_id": (contact_a.pk, contact_b.pk),
        "plan_id": (
            Job.objects.create(kind=PLAN_JOB, division=tree["a"], params=PLAN_PARAMS).pk,
            Job.objects.create(kind=PLAN_JOB, division=tree["b"], params=PLAN_PARAMS).pk,
        ),
    }
    for module in app_matrix_modules():
        added = module.world(tree=tree, register=register, hq=hq)
        assert not set(added) & set(objects), f"{module.__name__} redefines {set(added) & set(objects)}"
        objects.update(added)
    return objects


def url_for(endpoint: Endpoint, values: dict[str, Any]) -> str:
    route = endpoint.route
    for kwarg in endpoint.kwargs:
        route = re.sub(rf"<(?:\w+:)?{kwarg}>", str(values[kwarg]), route)
    return "/" + route.replace("^", "").replace("$", "")


PLAN_PARAMS = {"scenarios": ["detection_only"], "seeds": 1, "people": 10_000, "days": 14}
PAYLOAD = {
    "reason": "permission matrix",
    "outcome": "no_answer",
    "field": "document",
    "decision": "merge",
    "name": "丙测试人",
    "division": "410302001002",
    "phone": "13733330003",
}


def call(client: Any, endpoint: Endpoint, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    if endpoint.is_api:
        return client.generic(method, url, data=__import__("json").dumps(PAYLOAD), content_type="application/json")
    return client.generic(
        method,
        url,
        data=__import__("urllib.parse").parse.urlencode(PAYLOAD),
        content_type="application/x-www-form-urlencoded",
    )


def snapshot() -> tuple[Any, ...]:
    return (
        AuditEntry.objects.count(),
        Person.objects.count(),
        tuple(Person.objects.order_by("pk").values_list("name", "phone", "merged_into_id")),
        tuple(MergeCandidate.objects.order_by("pk").values_list("status", flat=True)),
        tuple(PoolEntry.objects.order_by("pk").values_list("state", "division_id")),
        PoolEvent.objects.count(),
        tuple(Contact.objects.order_by("pk").values_list("status", flat=True)),
        *(module.snapshot() for module in app_matrix_modules()),
    )


def test_every_url_and_operation_declares_who_may_use_it():
    undeclared = [f"{e.methods} /{e.route} ({e.name})" for e in app_endpoints() if e.capability is None]
    assert not undeclared, "URLs without @requires/@public/@api_requires:\n" + "\n".join(undeclared)
    declared = {e.capability for e in app_endpoints()} - {PUBLIC}
    assert declared <= set(Capability), declared - set(Capability)


def test_the_matrix_covers_views_and_api():
    endpoints = app_endpoints()
    assert any(e.is_api and e.kwargs for e in endpoints) and any(not e.is_api and e.kwargs for e in endpoints)
    assert len(endpoints) >= 15


def test_anonymous_users_reach_only_public_endpoints(client, world):
    own = {k: v[0] for k, v in world.items()}
    for endpoint in app_endpoints():
        if endpoint.capability == PUBLIC:
            continue
        for method in endpoint.methods:
            response = call(client, endpoint, method, url_for(endpoint, own))
            expected = {401} if endpoint.is_api else {302}
            assert response.status_code in expected, (method, endpoint.route, response.status_code)
            if not endpoint.is_api:
                assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", list(Role))
def test_role_and_jurisdiction_matrix(client, world, make_user, tree, role):
    user = make_user(role, "a")
    client.force_login(user)
    own = {k: v[0] for k, v in world.items()}
    other = {k: v[1] for k, v in world.items()}
    allowed = capabilities_of(role)
    failures: list[str] = []
    for endpoint, method in itertools.chain.from_iterable(
        ((e, m) for m in e.methods) for e in app_endpoints() if e.capability != PUBLIC
    ):
        may = endpoint.capability in allowed
        before = snapshot()
        response = call(client, endpoint, method, url_for(endpoint, other if endpoint.kwargs else own))
        if response.status_code == 405:  # this method is not served here; the one that is gets checked
            continue
        body = response.content.decode(errors="replace")
        label = f"{role} {method} /{endpoint.route}"
        if not may:
            if response.status_code != 403:
                failures.append(f"{label}: role lacks {endpoint.capability} but got {response.status_code}")
        elif endpoint.kwargs:
            if response.status_code != 404:
                failures.append(f"{label}: community-B record gave {response.status_code}, expected 404")
        elif MARK_B in body or "13922220002" in body or ID_B in body:
            failures.append(f"{label}: community-B data appears in the response")
        if snapshot() != before and (not may or endpoint.kwargs or method != "GET"):  # payloads target B
            failures.append(f"{label}: a refused request changed data")
        if may and endpoint.kwargs and method == "GET":
            mine = client.get(url_for(endpoint, own))
            if mine.status_code != 200:
                failures.append(f"{label}: own record gave {mine.status_code}")
    assert not failures, "\n".join(failures)


def test_admin_is_for_staff_only(client, world, make_user):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    for endpoint in walk():
        if endpoint.route.startswith("admin/") and not endpoint.kwargs and "GET" in endpoint.methods:
            url = url_for(endpoint, {})
            response = client.get(url)
            if endpoint.name in {"admin:login", "admin:logout"}:
                continue
            assert response.status_code in {302, 404}, (url, response.status_code)
            if response.status_code == 302:
                assert "/admin/login/" in response["Location"] or "/admin/" in response["Location"]
