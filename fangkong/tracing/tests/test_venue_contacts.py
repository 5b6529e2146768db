"""Suggested contacts from venue check-ins: the case's co-visitor is suggested with the evidence (venue, both
stays, minutes together) and the end of the shared stay as the exposure; visitors who came later, visitors of
other venues and check-ins before the infectious period are not; the case page shows both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.roles import Role
from fangkong.tracing.models import Contact, ContactStatus, Setting
from fangkong.tracing.services import confirm_contact, register_case, suggest_contacts
from fangkong.venues import services
from fangkong.venues.models import CheckInSource
from fangkong.venues.services import _record
from fangkong.venues.tests.test_venues import at, build_outbreak, make_venue, resident_id, staff_check_in


@pytest.fixture
def hq(make_user):
    return make_user(Role.CITY_HQ, "city")


@pytest.fixture
def venue(tree, hq):
    return make_venue(tree, hq)


@pytest.fixture
def outbreak(tree, hq, venue, register):
    return build_outbreak(tree, hq, venue, register)


def test_a_case_s_suggestions_include_the_venue_co_visitor_with_evidence_and_exclude_the_others(outbreak, hq, venue):
    case = register_case(
        outbreak["case_person"], kind="confirmed", first_positive_at=timezone.now() - timedelta(hours=2), by=hq
    )
    # register_case does not suggest; the view and the button call suggest_contacts.
    suggest_contacts(case, by=hq)
    venue_contacts = Contact.objects.filter(case=case, setting=Setting.VENUE)
    assert {c.person_id for c in venue_contacts} == {outbreak["co_visitor"].pk}
    contact = venue_contacts.get()
    assert contact.status == ContactStatus.SUGGESTED
    assert venue.code in contact.evidence and "东街好又多超市" in contact.evidence and "30" in contact.evidence
    assert contact.last_exposure_at == at(11)
    people = set(Contact.objects.filter(case=case).values_list("person_id", flat=True))
    assert not {outbreak["later"].pk, outbreak["elsewhere"].pk} & people
    # Running it again changes nothing.
    assert suggest_contacts(case, by=hq) == [] and Contact.objects.filter(case=case).count() == len(people)
    # The investigator confirms: the exposure (and so the quarantine dates) is the end of the shared stay.
    confirmed = confirm_contact(case, person=contact.person, setting=contact.setting, evidence=contact.evidence, by=hq)
    assert confirmed.status == ContactStatus.CONFIRMED and confirmed.last_exposure_at == at(11)


def test_check_ins_before_the_infectious_period_are_not_suggested(tree, hq, venue, register):
    person = register("a", name="病例丙", document_number=resident_id(5), phone="13800000005")
    services._record(
        venue,
        person=person,
        checked_in_at=at(10, days_ago=20),
        checked_out_at=at(11, days_ago=20),
        source=CheckInSource.STAFF,
        reference="old",
        by=hq,
    )
    staff_check_in(venue, hq, sequence=6, start=at(10, days_ago=20))
    case = register_case(person, kind="confirmed", first_positive_at=timezone.now(), by=hq)
    suggest_contacts(case, by=hq)
    assert not Contact.objects.filter(case=case, setting=Setting.VENUE).exists()


def test_a_minimum_overlap_from_settings_drops_short_overlaps(outbreak, hq, settings):
    settings.VENUE_MIN_OVERLAP_MINUTES = 31
    case = register_case(outbreak["case_person"], kind="confirmed", first_positive_at=timezone.now(), by=hq)
    suggest_contacts(case, by=hq)
    assert not Contact.objects.filter(case=case, setting=Setting.VENUE).exists()


def test_the_case_page_shows_the_case_s_check_ins_and_the_venue_suggestions(client, make_user, register, venue, hq):
    case_person = register("a", name="病例丁", phone="13800000007")
    co_visitor = register("a", name="同场者", phone="13800000008")
    start = timezone.now() - timedelta(hours=5)
    _record(venue, person=case_person, checked_in_at=start, checked_out_at=None, source="staff", reference="1", by=hq)
    _record(
        venue,
        person=co_visitor,
        checked_in_at=start + timedelta(minutes=20),
        checked_out_at=None,
        source="staff",
        reference="2",
        by=hq,
    )
    case = register_case(case_person, kind="confirmed", first_positive_at=timezone.now(), by=hq)
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    assert client.post(f"/tracing/{case.pk}/suggest/").status_code == 302
    contact = Contact.objects.get(case=case, person=co_visitor)
    assert contact.setting == Setting.VENUE and venue.code in contact.evidence
    assert contact.last_exposure_at == start + timedelta(minutes=venue.dwell_minutes)
    body = client.get(f"/tracing/{case.pk}/").content.decode()
    assert 'data-testid="venue-visit"' in body and venue.code in body
    suggested = body[body.index('data-testid="suggested"') :]
    assert "同场者" in suggested and venue.code in suggested
