"""Cases, clocks, contacts and their classification by the policy edition in force."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fangkong.core.errors import DomainError
from fangkong.core.models import AuditEntry
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.notify.models import Message
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.screening.services import list_person
from fangkong.tracing import selectors, services
from fangkong.tracing.models import Category, Clock, Contact, ContactStatus, InvestigationClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
POSITIVE = datetime(2021, 8, 3, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def officer(make_user):
    return make_user(Role.COUNTY_HQ, "county")


@pytest.fixture
def household(register):
    """A case and three people at the same address; a fourth lives with the first of them elsewhere."""
    case_person = register("a", name="病例", phone="13800000001", address="东街1号")
    family = [register("a", name=f"家人{n}", phone=f"1380000001{n}", address="东街1号") for n in range(2)]
    return case_person, family


def test_a_case_starts_the_1357_clocks_from_the_edition(household, officer):
    case = services.register_case(
        household[0],
        kind="confirmed",
        first_positive_at=POSITIVE,
        by=officer,
        reported_at=POSITIVE + timedelta(hours=2),
    )
    due = {c.clock: c.due_at - case.reported_at for c in InvestigationClock.objects.filter(case=case)}
    assert due == {
        Clock.TRAJECTORY: timedelta(hours=1),
        Clock.REVIEW: timedelta(hours=3),
        Clock.ZONING: timedelta(hours=5),
        Clock.CONTACT_LISTS: timedelta(hours=7),
    }
    assert services.infectious_period_start(case) == date(2021, 8, 1)  # ed8: 2 days before the first positive


def test_a_listed_person_who_becomes_a_case_leaves_the_pool(household, officer):
    list_person(household[0], reason="arrival", source="manual", by=None)
    services.register_case(household[0], kind="asymptomatic", first_positive_at=POSITIVE, by=officer)
    assert PoolEntry.objects.get(person=household[0]).close_reason == "became_case"
    with pytest.raises(DomainError):
        services.register_case(household[0], kind="confirmed", first_positive_at=POSITIVE, by=officer)


def test_household_suggestions_confirm_into_close_contacts_with_ed8_dates_and_secondary_derivation(
    household, officer, register
):
    case_person, family = household
    case = services.register_case(case_person, kind="confirmed", first_positive_at=POSITIVE, by=officer)
    suggested = services.suggest_contacts(case, by=officer)
    assert {c.person for c in suggested} == set(family)

    # The first family member also lives with someone at another address: their household is secondary.
    flatmate = register("a", name="合租人", phone="13800000099", address="西街9号")
    family[0].address = "西街9号"
    family[0].save()
    contact = services.confirm_contact(
        case, person=family[0], setting="household", last_exposure_at=POSITIVE, by=officer
    )
    assert contact.quarantine_until == date(2021, 8, 17)  # ed8: 14 days from the last exposure
    assert contact.monitoring_until == date(2021, 8, 24)  # then 7 days of home health monitoring
    assert contact.test_dates == ["2021-08-04", "2021-08-07", "2021-08-10", "2021-08-17", "2021-08-19", "2021-08-24"]
    entry = PoolEntry.objects.get(person=family[0], state=LoopState.LISTED)
    assert "close_contact" in entry.reasons
    secondary = Contact.objects.get(case=case, person=flatmate)
    assert (secondary.category, secondary.status, secondary.via) == (
        Category.SECONDARY,
        ContactStatus.SUGGESTED,
        contact,
    )

    confirmed = services.confirm_contact(
        case,
        person=flatmate,
        category=Category.SECONDARY,
        via=contact,
        setting="household",
        last_exposure_at=POSITIVE,
        by=officer,
    )
    assert confirmed.quarantine_until == date(2021, 8, 10) and confirmed.test_dates == [
        "2021-08-04",
        "2021-08-07",
        "2021-08-10",
    ]
    assert "secondary_contact" in PoolEntry.objects.get(person=flatmate).reasons


def test_switching_to_the_twenty_measures_edition_changes_classification_without_code(
    household, officer, tree, make_user
):
    set_active_edition(tree["city"], edition_id="ed9+20", overrides={}, by=make_user(Role.CITY_HQ, "city"))
    case_person, family = household
    case = services.register_case(case_person, kind="confirmed", first_positive_at=POSITIVE, by=officer)
    contact = services.confirm_contact(case, person=family[0], last_exposure_at=POSITIVE, by=officer)
    assert contact.edition_id == "ed9+20" and contact.quarantine_until == date(2021, 8, 8)  # 5 days
    assert not Contact.objects.filter(category=Category.SECONDARY).exists()  # ed9+20 identifies none
    with pytest.raises(DomainError):
        services.confirm_contact(case, person=family[1], category=Category.SECONDARY, via=contact, by=officer)
    assert services.infectious_period_start(case) == date(2021, 7, 30)  # 4 days before


def test_overdue_clocks_escalate_once_to_the_county_hq(
    household, officer, make_user, django_capture_on_commit_callbacks
):
    head = make_user(Role.COUNTY_HQ, "county", phone="13900000000")
    case = services.register_case(
        household[0], kind="confirmed", first_positive_at=POSITIVE, by=officer, reported_at=POSITIVE
    )
    services.complete_clock(case, clock=Clock.TRAJECTORY, by=officer)
    later = POSITIVE + timedelta(hours=4)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue_clocks(now=later) == 1  # the review clock (3 h); trajectory was done
        assert services.escalate_overdue_clocks(now=later) == 0
    assert Message.objects.filter(to_masked="139****0000").count() == 1
    assert AuditEntry.objects.filter(action="tracing.clock.escalate").count() == 1
    assert head.pk


def test_chain_graph_links_cases_and_contacts(household, officer, register):
    case_person, family = household
    first = services.register_case(case_person, kind="confirmed", first_positive_at=POSITIVE, by=officer)
    second = services.register_case(
        register("a", phone="13800000077"), kind="confirmed", first_positive_at=POSITIVE, by=officer, source_case=first
    )
    services.confirm_contact(first, person=family[0], by=officer)
    graph = selectors.chain_graph(officer)
    assert {"source": f"case-{first.pk}", "target": f"case-{second.pk}", "kind": "infection"} in graph["links"]
    assert {n["generation"] for n in graph["nodes"] if n["id"].startswith("case-")} == {0, 1}
    assert len(selectors.chain_graph(officer, person_query="家人0")["nodes"]) == 3
    assert timezone.now()


def test_classmates_and_coworkers_are_suggested_from_the_registry_keys(register, officer):
    case_person = register("a", name="学生", phone="13800000031")
    classmate = register("a", name="同学", phone="13800000032")
    coworker = register("b", name="同事", phone="13800000033")
    from fangkong.people.models import Person

    Person.objects.filter(pk__in=[case_person.pk, classmate.pk]).update(class_key="s1:c7")
    Person.objects.filter(pk__in=[case_person.pk, coworker.pk]).update(workplace_key="s1:w3")
    case_person.refresh_from_db()
    case = services.register_case(case_person, kind="confirmed", first_positive_at=POSITIVE, by=officer)
    settings = {(c.person_id, c.setting) for c in services.suggest_contacts(case, by=officer)}
    assert settings == {(classmate.pk, "school"), (coworker.pk, "work")}
