from __future__ import annotations

import pytest

from fangkong.core.errors import NotFoundError
from fangkong.core.models import Division
from fangkong.core.roles import Role
from fangkong.core.scope import get_scoped, scoped
from fangkong.people.models import Person


def test_a_user_sees_exactly_the_subtree_of_their_jurisdiction(tree, make_user, register):
    in_a, in_b, in_c = (
        register("a", phone="13800000001"),
        register("b", phone="13800000002"),
        register("c", phone="13800000003"),
    )
    people = Person.objects.all()
    assert set(scoped(people, make_user(Role.COMMUNITY_WORKER, "a"))) == {in_a}
    assert set(scoped(people, make_user(Role.STREET_OFFICE, "street"))) == {in_a, in_b}
    assert set(scoped(people, make_user(Role.COUNTY_HQ, "county2"))) == {in_c}
    assert set(scoped(people, make_user(Role.CITY_HQ, "city"))) == {in_a, in_b, in_c}


def test_users_without_jurisdiction_or_inactive_see_nothing(tree, make_user, register):
    register("a", phone="13800000001")
    nowhere = make_user(Role.CITY_HQ, "city")
    nowhere.division = None
    assert not scoped(Person.objects.all(), nowhere).exists()
    inactive = make_user(Role.CITY_HQ, "city", is_active=False)
    assert not scoped(Person.objects.all(), inactive).exists()


def test_out_of_scope_looks_exactly_like_absent(tree, make_user, register):
    person = register("b", phone="13800000002")
    with pytest.raises(NotFoundError):
        get_scoped(Person.objects.all(), make_user(Role.COMMUNITY_WORKER, "a"), pk=person.pk)


def test_divisions_are_scoped_by_their_own_path(tree, make_user):
    seen = set(scoped(Division.objects.all(), make_user(Role.STREET_OFFICE, "street")).values_list("path", flat=True))
    assert seen == {"410302001", "410302001001", "410302001002"}


# Models that hold no record a user could list by jurisdiction, each with its reason.
UNSCOPED = {
    "notify.onetimecode": "holds only hashes, looked up by the hash of the phone that asked for it",
}


def test_every_domain_model_declares_its_scope_field():
    from django.apps import apps

    domain_apps = {"people", "notify", "screening", "tracing", "command", "core"}
    reference = {"core.user", "core.apitoken", "core.organization"}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in domain_apps or label in reference or label in UNSCOPED:
            continue
        field = getattr(model, "SCOPE_FIELD", None)
        assert isinstance(field, str), f"{label} declares no SCOPE_FIELD"
        str(model.objects.filter(**{f"{field}__startswith": "41"}).query)  # the lookup resolves
