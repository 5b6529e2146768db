"""Sampling rules: barcode format, tubes used once and closed at their size, people by ID number or QR,
unknown people registered on the spot, a second swab in a round flagged — each refusal names field and code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.models import AuditEntry
from fangkong.testing import services
from fangkong.testing.codes import CodeError, normalize_barcode, parse_person_code, person_qr_payload
from fangkong.testing.models import FlagKind, RoundStatus, Sample, SamplingFlag, Tube, TubeStatus
from fangkong.testing.services import SampleItem, TestingError
from fangkong.testing.tests.conftest import resident_id


def _scan(site: Any, test_round: Any, by: Any, person: str, tube: str, **extra: Any) -> Any:
    return services.register_sample(
        site, test_round=test_round, item=SampleItem(person_code=person, tube_barcode=tube, **extra), by=by
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "barcode_empty"),
        ("1234567", "barcode_format"),  # too short
        ("A" * 25, "barcode_format"),  # too long
        ("TB-0001#2", "barcode_format"),
        ("-TB000001", "barcode_format"),
        ("试管00000001", "barcode_format"),
        ("11010519491231002X", "barcode_is_person_code"),  # an ID card scanned into the tube field
        ("FKP1.12.abc", "barcode_is_person_code"),
    ],
)
def test_malformed_barcodes_are_refused_with_their_reason(raw, code):
    with pytest.raises(CodeError) as refused:
        normalize_barcode(raw)
    assert refused.value.code == code


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{6,22}[A-Za-z0-9]", fullmatch=True))
def test_every_well_formed_barcode_normalises_to_its_upper_case(raw):
    assert normalize_barcode(f"  {raw} ") == raw.upper()  # a leading letter: never an ID number


def test_a_personal_qr_code_round_trips_and_a_tampered_one_is_refused(settings):
    payload = person_qr_payload(42)
    assert parse_person_code(payload).person_id == 42
    with pytest.raises(CodeError) as refused:
        parse_person_code(payload.replace("FKP1.42.", "FKP1.43."))
    assert refused.value.code == "person_qr_signature"


def test_a_bad_id_number_is_refused_as_the_person_code():
    with pytest.raises(CodeError) as refused:
        parse_person_code("410302199001011234")
    assert refused.value.code == "person_code_format"


def test_a_tube_closes_at_the_rounds_pool_size_and_then_refuses_scans(site, test_round, sampler_user):
    for n in range(10):
        done = _scan(site, test_round, sampler_user, resident_id(n), "tb00000001", name=f"居民{n}")
    assert done.tube_closed is True
    tube = Tube.objects.get(barcode="TB00000001")
    assert (tube.sample_count, tube.capacity, tube.status) == (10, 10, TubeStatus.CLOSED)
    with pytest.raises(TestingError) as refused:
        _scan(site, test_round, sampler_user, resident_id(11), "TB00000001", name="多一个")
    assert (refused.value.field, refused.value.code) == ("tube_barcode", "tube_closed")
    assert Sample.objects.count() == 10


def test_a_pool_over_capacity_in_one_batch_refuses_the_extra_scans_only(site, test_round, sampler_user):
    items = [SampleItem(person_code=resident_id(n), tube_barcode="TB00000001", name=f"居民{n}") for n in range(12)]
    result = services.register_samples(site, test_round=test_round, items=items, by=sampler_user)
    assert len(result.accepted) == 10
    assert [(e.index, e.field, e.code) for e in result.failed] == [
        (10, "tube_barcode", "tube_full"),
        (11, "tube_barcode", "tube_full"),
    ]
    assert Tube.objects.get().sample_count == 10


def test_a_tube_barcode_is_never_reused_in_another_round_or_at_another_site(
    site, test_round, sampler_user, manager, tree
):
    _scan(site, test_round, sampler_user, resident_id(1), "TB00000001", name="甲")
    services.close_tube(Tube.objects.get(), by=sampler_user)
    later = services.create_round(
        tree["county"],
        name="第二轮",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=5),
        pool_size=10,
        by=manager,
    )
    later = services.set_round_status(later, status=RoundStatus.OPEN, by=manager)
    other_site = services.create_site(tree["a"], name="东社区流动点", kind="mobile", hourly_capacity=60, by=manager)
    for where, which in ((site, later), (other_site, test_round)):
        with pytest.raises(TestingError) as refused:
            _scan(where, which, sampler_user, resident_id(2), "TB00000001", name="乙")
        assert refused.value.code == "tube_used"
    assert Tube.objects.count() == 1
    assert Sample.objects.count() == 1


def test_a_person_sampled_twice_in_a_round_is_kept_and_flagged_not_silently_duplicated(site, test_round, sampler_user):
    first = _scan(site, test_round, sampler_user, resident_id(1), "TB00000001", name="甲")
    second = _scan(site, test_round, sampler_user, resident_id(1), "TB00000002")
    assert (first.is_duplicate, second.is_duplicate) == (False, True)
    flag = SamplingFlag.objects.get(kind=FlagKind.DUPLICATE_IN_ROUND)
    assert flag.sample_id == second.sample_id
    assert flag.first_sample_id == first.sample_id
    assert Sample.objects.filter(round=test_round, is_duplicate=False).count() == 1


def test_duplicates_inside_one_batch_are_flagged_too(site, test_round, sampler_user):
    items = [
        SampleItem(person_code=resident_id(1), tube_barcode="TB00000001", name="甲"),
        SampleItem(person_code=resident_id(1), tube_barcode="TB00000001", name="甲"),
    ]
    result = services.register_samples(site, test_round=test_round, items=items, by=sampler_user)
    assert [a.is_duplicate for a in result.accepted] == [False, True]
    flag = SamplingFlag.objects.get(kind=FlagKind.DUPLICATE_IN_ROUND)
    assert flag.first_sample_id == result.accepted[0].sample_id


def test_an_unknown_person_is_registered_on_the_spot_or_refused_without_a_name(
    site, test_round, sampler_user, register
):
    with pytest.raises(TestingError) as refused:
        _scan(site, test_round, sampler_user, resident_id(1), "TB00000001")
    assert (refused.value.field, refused.value.code) == ("person_code", "person_unknown")
    done = _scan(site, test_round, sampler_user, resident_id(1), "TB00000001", name="新居民", phone="13800001111")
    assert done.person_created is True
    assert SamplingFlag.objects.filter(kind=FlagKind.REGISTERED_ON_SPOT, person_id=done.person_id).exists()
    known = register("a", name="老居民", document_number=resident_id(2))
    again = _scan(site, test_round, sampler_user, person_qr_payload(known.pk), "TB00000001")
    assert (again.person_id, again.person_created) == (known.pk, False)


def test_scans_outside_the_round_window_or_in_a_planned_round_are_refused(
    site, test_round, sampler_user, manager, tree
):
    with pytest.raises(TestingError) as refused:
        _scan(
            site,
            test_round,
            sampler_user,
            resident_id(1),
            "TB00000001",
            name="甲",
            sampled_at=test_round.starts_at - timedelta(minutes=1),
        )
    assert (refused.value.field, refused.value.code) == ("sampled_at", "outside_round")
    with pytest.raises(TestingError) as refused:
        _scan(
            site,
            test_round,
            sampler_user,
            resident_id(1),
            "TB00000001",
            name="甲",
            sampled_at=timezone.now() + timedelta(hours=1),
        )
    assert refused.value.code == "sampled_at"
    planned = services.create_round(
        tree["county"],
        name="计划轮",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=3),
        by=manager,
    )
    with pytest.raises(TestingError) as refused:
        _scan(site, planned, sampler_user, resident_id(1), "TB00000001", name="甲")
    assert refused.value.code == "round_not_open"
    assert not Sample.objects.exists()


def test_a_round_refuses_a_pool_size_the_edition_does_not_allow(manager, tree):
    with pytest.raises(TestingError) as refused:
        services.create_round(
            tree["county"],
            name="错轮",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(hours=3),
            pool_size=30,
            by=manager,
        )
    assert (refused.value.field, refused.value.code) == ("pool_size", "pool_size")


def test_a_sampler_outside_the_sites_community_is_refused_and_nothing_changes(site, test_round, make_user):
    outsider = make_user("community_worker", "b")
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(PermissionDeniedError):
        _scan(site, test_round, outsider, resident_id(1), "TB00000001", name="甲")
    assert not Sample.objects.exists()
    assert AuditEntry.objects.count() == audit_rows


def test_a_batch_retry_with_the_same_key_returns_the_stored_result(site, test_round, sampler_user):
    items = [SampleItem(person_code=resident_id(n), tube_barcode="TB00000001", name=f"居民{n}") for n in range(3)]
    first = services.register_samples(
        site, test_round=test_round, items=items, by=sampler_user, device_id="pad", batch_key="b-1"
    )
    again = services.register_samples(
        site, test_round=test_round, items=items, by=sampler_user, device_id="pad", batch_key="b-1"
    )
    assert again.replayed is True
    assert again.accepted == first.accepted
    assert Sample.objects.count() == 3
