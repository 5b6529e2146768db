"""Shared test fixtures: a tiny jurisdiction tree and one user per role, built as plain rows.

Records in a particular state are reached through the real services, in each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API with live_server


@pytest.fixture(scope="session", autouse=True)
def _allow_emptying_the_audit_log_between_tests() -> None:
    """Transactional tests (live server, locking) empty every table afterwards, the audit log included."""
    from fangkong.core import audit_lock

    audit_lock.purge_allowed = True


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> None:
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "imports", "analytics", "messages"],
        }
    }
    settings.SMS_BACKEND = "fangkong.notify.backends.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms.jsonl"
    settings.COVERAGE_SNAPSHOT_DIR = tmp_path / "coverage"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {  # jobs' published progress: one store per test, as the database is
        **settings.CACHES,
        "progress": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"progress-{tmp_path}"},
    }


@pytest.fixture
def tree(db: None) -> dict[str, Any]:
    """City 4103 → counties 410302, 410303 → streets → communities A and B (same street) and C (other county)."""
    from fangkong.core.models import Division, DivisionLevel

    def node(code: str, path: str, name: str, level: str, parent: Any = None) -> Any:
        return Division.objects.create(code=code, path=path, name=name, level=level, parent=parent)

    city = node("410300", "4103", "示范市", DivisionLevel.CITY)
    county = node("410302", "410302", "老城区", DivisionLevel.COUNTY, city)
    county2 = node("410303", "410303", "西工区", DivisionLevel.COUNTY, city)
    street = node("410302001", "410302001", "西关街道", DivisionLevel.STREET, county)
    street2 = node("410303001", "410303001", "王城路街道", DivisionLevel.STREET, county2)
    a = node("410302001001", "410302001001", "东社区", DivisionLevel.COMMUNITY, street)
    b = node("410302001002", "410302001002", "西社区", DivisionLevel.COMMUNITY, street)
    c = node("410303001201", "410303001201", "王村", DivisionLevel.COMMUNITY, street2)
    return {
        "city": city,
        "county": county,
        "county2": county2,
        "street": street,
        "street2": street2,
        "a": a,
        "b": b,
        "c": c,
    }


@pytest.fixture
def make_user(tree: dict[str, Any]) -> Callable[..., Any]:
    from fangkong.core.models import User

    counter = {"n": 0}

    def make(role: str, where: str = "a", **extra: Any) -> Any:
        counter["n"] += 1
        user = User.objects.create_user(
            username=f"{role}-{where}-{counter['n']}",
            password="pw-for-tests-only",
            role=role,
            division=tree[where],
            **extra,
        )
        return user

    return make


@pytest.fixture
def register(tree: dict[str, Any]) -> Callable[..., Any]:
    """Register a person through the real service, as a city HQ officer."""
    from fangkong.core.models import User
    from fangkong.core.roles import Role
    from fangkong.people.services import PersonInput, register_person

    officer = User.objects.create_user(username="registrar", role=Role.CITY_HQ, division=tree["city"])

    def make(where: str = "a", source: str = "test", **fields: Any) -> Any:
        data = {"name": "张三", "document_number": None, "phone": None, **fields}
        return register_person(PersonInput(division=tree[where].path, **data), source=source, by=officer).person

    return make


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: CI must run the browser tests (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return {
        "executable_path": path,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Users' browsers ask for Chinese; the English switch is tested explicitly."""
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """PostgreSQL-only tests (locking, concurrency) run where the database is PostgreSQL, and only there."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    on_postgres = bool(url) and dj_database_url.parse(url)["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)
