"""Two devices register the same person at the same moment: one person, two sources, no error.

Runs against PostgreSQL with real concurrent connections (SQLite serialises writers, so it cannot show this).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fangkong.core.roles import Role
from fangkong.people.models import Person, PersonDocument, PersonSource
from fangkong.people.services import PersonInput, register_person

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_simultaneous_registrations_of_one_document_make_one_person(tree, make_user):
    user = make_user(Role.CITY_HQ, "city")
    barrier = threading.Barrier(6)
    results: list[object] = []

    def register(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            registration = register_person(
                PersonInput(name="张三", division=tree["a"].path, document_number="11010519491231002X"),
                source="device",
                reference=f"scan-{n}",
                by=user,
            )
            results.append(registration.person.pk)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Person.objects.count() == 1 and PersonDocument.objects.count() == 1
    assert PersonSource.objects.count() == 6
