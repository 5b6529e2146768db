"""record_quarantined_many: the bulk form of record_quarantined moves the same way, in one audit row."""

from __future__ import annotations

from fangkong.core.models import AuditEntry
from fangkong.screening.models import LoopState, PoolEvent
from fangkong.screening.services import close_entry, list_person, record_quarantined_many


def test_moves_many_entries_with_events_and_one_audit_row(tree, register):
    people = [register("a", phone=f"1380000000{n}") for n in range(3)]
    entries = [list_person(p, reason="close_contact", source="manual", by=None).entry for p in people]
    before = AuditEntry.objects.count()
    moved = record_quarantined_many(
        {people[0].pk: True, people[1].pk: False, people[2].pk: True}, by=None, note="placement"
    )
    assert moved == 3
    states = {e.pk: e.state for e in (type(entries[0]).objects.filter(pk__in=[e.pk for e in entries]))}
    assert states == {
        entries[0].pk: LoopState.QUARANTINED_CENTRAL,
        entries[1].pk: LoopState.QUARANTINED_HOME,
        entries[2].pk: LoopState.QUARANTINED_CENTRAL,
    }
    entries[0].refresh_from_db()
    assert entries[0].quarantined_at is not None and entries[0].located_at is not None
    assert PoolEvent.objects.filter(kind="transition", to_state=LoopState.QUARANTINED_CENTRAL).count() == 2
    assert AuditEntry.objects.count() == before + 1
    assert record_quarantined_many({people[0].pk: True}, by=None) == 0  # already there: nothing to do


def test_people_without_an_open_entry_are_left_alone(tree, register):
    person = register("a", phone="13800000009")
    entry = list_person(person, reason="close_contact", source="manual", by=None).entry
    close_entry(entry, reason="duplicate", by=None)
    assert record_quarantined_many({person.pk: True}, by=None) == 0
