"""The closed loop through its services: listing, routing, attempts, transitions, deadlines by edition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.screening import selectors, services
from fangkong.screening.models import LoopState, PoolEntry, PoolEvent, RiskReport


@pytest.fixture
def worker(make_user):
    return make_user(Role.COMMUNITY_WORKER, "a")


@pytest.fixture
def person(register):
    return register("a", name="张三", phone="13812345678")


def test_listing_twice_from_two_sources_is_one_entry_with_two_reports(person, worker):
    first = services.list_person(person, reason="arrival", source="police", reference="list1:2", by=None)
    again = services.list_person(person, reason="arrival", source="police", reference="list1:2", by=None)
    second = services.list_person(person, reason="close_contact", source="self_report", reference="r9", by=None)
    assert first.created and not again.created and not second.created
    assert PoolEntry.objects.count() == 1 and RiskReport.objects.count() == 2
    entry = PoolEntry.objects.get()
    assert entry.reasons == ["arrival", "close_contact"] and entry.division_id == person.home_division_id
    assert AuditEntry.objects.filter(action="screening.pool.list").count() == 1


def test_deadlines_follow_the_active_edition_and_its_local_overrides(tree, register, make_user):
    now = timezone.now()
    one = register("a", phone="13800000001")
    entry = services.list_person(one, reason="arrival", source="manual", by=None, now=now).entry
    assert entry.edition_id == "ed8" and entry.locate_due == now + timedelta(hours=24)

    hq = make_user(Role.CITY_HQ, "city")
    set_active_edition(tree["city"], edition_id="ed9", overrides={"screening": {"locate_within_hours": 12}}, by=hq)
    two = register("a", phone="13800000002")
    later = services.list_person(two, reason="arrival", source="manual", by=None, now=now).entry
    assert later.edition_id == "ed9" and later.locate_due == now + timedelta(hours=12)
    assert PoolEntry.objects.get(pk=entry.pk).locate_due == now + timedelta(hours=24)  # earlier entries keep theirs
    assert AuditEntry.objects.filter(action="core.policy.set").exists()


def test_a_worker_locates_in_one_tap_and_the_history_records_it(person, worker):
    entry = services.list_person(person, reason="arrival", source="manual", by=worker).entry
    services.record_attempt(entry, outcome="no_answer", by=worker)
    assert PoolEntry.objects.get(pk=entry.pk).state == LoopState.LISTED
    services.record_attempt(entry, outcome="located_home", by=worker)
    entry.refresh_from_db()
    assert entry.state == LoopState.LOCATED and entry.located_at is not None
    assert list(PoolEvent.objects.filter(entry=entry).values_list("kind", flat=True)) == [
        "listed",
        "attempt",
        "transition",
    ]


def test_found_elsewhere_hands_the_entry_to_that_community(person, worker, tree):
    entry = services.list_person(person, reason="arrival", source="manual", by=worker).entry
    services.record_attempt(entry, outcome="located_elsewhere", new_division=tree["c"], by=worker)
    entry.refresh_from_db()
    assert (entry.division_id, entry.state) == (tree["c"].path, LoopState.LOCATED)
    with pytest.raises(PermissionDeniedError):  # now the other community's work
        services.record_attempt(entry, outcome="no_answer", by=worker)


def test_left_the_city_closes_with_the_reason_and_closed_is_final(person, worker):
    entry = services.list_person(person, reason="arrival", source="manual", by=worker).entry
    services.record_attempt(entry, outcome="left_city", by=worker)
    entry.refresh_from_db()
    assert (entry.state, entry.close_reason) == (LoopState.CLOSED, "not_in_city")
    with pytest.raises(DomainError):
        services.record_attempt(entry, outcome="located_home", by=worker)
    # A new report later opens a new entry: the person is back in the pool.
    assert services.list_person(person, reason="arrival", source="manual", by=worker).created


def test_the_loop_moves_forward_only(person, worker):
    entry = services.list_person(person, reason="close_contact", source="investigation", by=None).entry
    services.record_tested(person, sampled_at=timezone.now(), by=None)
    services.record_quarantined(person, central=True, by=None)
    services.record_tested(person, sampled_at=timezone.now(), by=None)  # a quarantine test does not step back
    entry.refresh_from_db()
    assert entry.state == LoopState.QUARANTINED_CENTRAL and entry.located_at and entry.tested_at
    services.record_released(person, by=None)
    with pytest.raises(DomainError):
        services._move(PoolEntry.objects.get(pk=entry.pk), LoopState.LISTED, by=None)


def test_a_person_without_a_community_waits_in_the_county_unlocated_queue(tree, register):
    person = register("a", phone="13800000009")
    person.home_division = tree["county"]
    person.save()
    entry = services.list_person(person, reason="arrival", source="police", reference="x:1", by=None).entry
    assert entry.is_unlocated and entry.division_id == tree["county"].path


def test_nobody_missed_counts_and_drill_down(tree, register, make_user):
    now = timezone.now()
    people = [register("a", phone=f"1380000001{n}") for n in range(4)] + [register("b", phone="13800000020")]
    entries = [services.list_person(p, reason="arrival", source="manual", by=None, now=now).entry for p in people]
    services.record_located(people[0], by=None)
    services.record_tested(people[1], sampled_at=now, by=None)
    services.record_quarantined(people[2], central=False, by=None)
    PoolEntry.objects.filter(pk=entries[3].pk).update(locate_due=now - timedelta(hours=1))

    street = make_user(Role.STREET_OFFICE, "street")
    rows = {row.division.code: row.counts for row in selectors.nobody_missed(street)}
    assert rows[tree["a"].code] == {
        "listed": 4,
        "located": 3,
        "tested": 2,
        "quarantined": 1,
        "unlocated": 0,
        "closed": 0,
        "overdue": 1,
    }
    assert rows[tree["b"].code]["listed"] == 1
    overdue = selectors.drill_down(street, division=tree["a"].path, column="overdue")
    assert [e.person_id for e in overdue] == [people[3].pk]
    community = make_user(Role.COMMUNITY_WORKER, "b")
    assert sum(r.counts["listed"] for r in selectors.nobody_missed(community)) == 1
