"""Setting up testing: sampling sites and samplers, mass-testing rounds, exemptions (recorded and revoked), lab
capacity."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.models import Division, DivisionLevel, Organization, OrganizationKind, User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.people.models import Person
from fangkong.screening.services import responsible_division
from fangkong.testing.models import (
    Exemption,
    ExemptionReason,
    LabCapacity,
    RoundStatus,
    Sampler,
    SamplingSite,
    SiteKind,
    TestRound,
)
from fangkong.testing.services.common import TestingError, TestingErrorCode, require, require_in_scope

ROUND_MOVES = {
    RoundStatus.PLANNED: {RoundStatus.OPEN, RoundStatus.CLOSED},
    RoundStatus.OPEN: {RoundStatus.CLOSED},
    RoundStatus.CLOSED: set(),
}


@transaction.atomic
def create_site(
    division: Division, *, name: str, kind: str, hourly_capacity: int, by: User | None, address: str = ""
) -> SamplingSite:
    require(by, Capability.TESTING_MANAGE)
    require_in_scope(division.path, by)
    if division.level != DivisionLevel.COMMUNITY:
        raise TestingError(_("A sampling site belongs to a village or community."), field="division")
    if kind not in SiteKind.values:
        raise TestingError(_("Unknown kind of site."), field="kind")
    if hourly_capacity < 1:
        raise TestingError(_("The hourly capacity must be at least 1."), field="hourly_capacity")
    name = " ".join(name.split())
    if not name:
        raise TestingError(_("Name the site."), field="name")
    try:
        with transaction.atomic():
            site = SamplingSite.objects.create(
                division=division, name=name[:100], kind=kind, hourly_capacity=hourly_capacity, address=address[:300]
            )
    except IntegrityError:
        raise TestingError(_("This community already has a site with this name."), field="name") from None
    audit.record(
        "testing.site.create",
        by=by,
        target=site,
        division_path=division.path,
        changes={"name": [None, site.name], "kind": [None, kind], "hourly_capacity": [None, hourly_capacity]},
    )
    return site


@transaction.atomic
def add_sampler(site: SamplingSite, *, name: str, by: User | None, user: User | None = None) -> Sampler:
    require(by, Capability.TESTING_MANAGE)
    require_in_scope(site.division_id, by)
    name = " ".join(name.split()) or (user.get_full_name() or user.get_username() if user else "")
    if not name:
        raise TestingError(_("Name the sampler."), field="name")
    sampler, created = (
        Sampler.objects.get_or_create(site=site, user=user, defaults={"name": name[:100]})
        if user is not None
        else (Sampler.objects.create(site=site, name=name[:100]), True)
    )
    if created:
        audit.record(
            "testing.sampler.add",
            by=by,
            target=sampler,
            division_path=site.division_id,
            changes={"name": [None, sampler.name]},
        )
    return sampler


@transaction.atomic
def create_round(
    division: Division,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    by: User | None,
    pool_size: int | None = None,
    receipt_target_hours: int = 6,
    result_target_hours: int | None = None,
    completion_target_hours: int | None = None,
) -> TestRound:
    """A mass-testing round over `division` and below. Pool size must be one the policy edition allows
    (default: its default pool size); the result target defaults to the edition's pooled turnaround and the
    completion target to its city-round hours."""
    require(by, Capability.TESTING_MANAGE)
    require_in_scope(division.path, by)
    edition = active_edition(division.path)
    rules = edition.testing
    pool_size = pool_size or rules.default_pool_size
    if pool_size not in rules.pool_sizes_allowed:
        raise TestingError(
            _("Pool size %(size)d is not allowed; choose one of %(allowed)s.")
            % {"size": pool_size, "allowed": ", ".join(str(s) for s in rules.pool_sizes_allowed)},
            code=TestingErrorCode.POOL_SIZE,
            field="pool_size",
        )
    if ends_at <= starts_at:
        raise TestingError(_("The round must end after it starts."), field="ends_at")
    name = " ".join(name.split())
    if not name:
        raise TestingError(_("Name the round."), field="name")
    targets = {
        "receipt_target_hours": receipt_target_hours,
        "result_target_hours": result_target_hours or rules.pooled_turnaround_hours,
        "completion_target_hours": completion_target_hours or rules.city_round_under_5m_hours,
    }
    for field_name, hours in targets.items():
        if hours < 1:
            raise TestingError(_("A target is at least one hour."), field=field_name)
    test_round = TestRound.objects.create(
        division=division,
        name=name[:100],
        starts_at=starts_at,
        ends_at=ends_at,
        pool_size=pool_size,
        edition_id=edition.id,
        created_by=by if by is not None and by.pk else None,
        **targets,
    )
    audit.record(
        "testing.round.create",
        by=by,
        target=test_round,
        division_path=division.path,
        changes={
            "name": [None, test_round.name],
            "pool_size": [None, pool_size],
            "window": [None, [starts_at.isoformat(), ends_at.isoformat()]],
            **{key: [None, value] for key, value in targets.items()},
        },
    )
    return test_round


@transaction.atomic
def set_round_status(test_round: TestRound, *, status: str, by: User | None) -> TestRound:
    """planned → open (sampling starts) → closed. A closed round still accepts late uploads of scans taken
    inside its window (devices that were offline)."""
    require(by, Capability.TESTING_MANAGE)
    require_in_scope(test_round.division_id, by)
    test_round = TestRound.objects.select_for_update().get(pk=test_round.pk)
    if status == test_round.status:
        return test_round
    if status not in ROUND_MOVES.get(RoundStatus(test_round.status), set()):
        raise TestingError(
            _("A round cannot go from %(old)s to %(new)s.") % {"old": test_round.status, "new": status},
            code=TestingErrorCode.ROUND_NOT_OPEN,
            field="status",
        )
    old = test_round.status
    test_round.status = status
    test_round.save(update_fields=["status"])
    audit.record(
        "testing.round.status",
        by=by,
        target=test_round,
        division_path=test_round.division_id,
        changes={"status": [old, status]},
    )
    return test_round


@transaction.atomic
def record_exemption(
    person: Person, *, test_round: TestRound, reason: str, by: User | None, note: str = ""
) -> Exemption:
    """Excuse a person from the round's site sampling: infants and people away from the city are left out of
    the untested list; bedridden people go on the door-to-door list instead."""
    require(by, Capability.TESTING_SAMPLE)
    division, _unlocated = responsible_division(person)
    require_in_scope(division.path, by)
    if reason not in ExemptionReason.values:
        raise TestingError(_("Choose a reason."), field="reason")
    if not division.path.startswith(test_round.division_id):
        raise TestingError(
            _("This person does not live in the round's area."), code=TestingErrorCode.OUTSIDE_ROUND, field="person"
        )
    if reason == ExemptionReason.OTHER and not note.strip():
        raise TestingError(_("Say why in the note."), field="note")
    exemption, created = Exemption.objects.get_or_create(
        person=person,
        round=test_round,
        defaults={
            "division": division,
            "reason": reason,
            "note": note[:300],
            "created_by": by if by is not None and by.pk else None,
        },
    )
    old = None if created else exemption.reason
    if not created and exemption.reason != reason:
        exemption.reason, exemption.note = reason, note[:300]
        exemption.save(update_fields=["reason", "note"])
    if created or old != reason:
        audit.record(
            "testing.exemption.record",
            by=by,
            target=exemption,
            division_path=division.path,
            changes={"reason": [old, reason]},
        )
    return exemption


@transaction.atomic
def revoke_exemption(exemption: Exemption, *, by: User | None, note: str = "") -> None:
    """Take an exemption back: the person is due for sampling in the round again (on the untested list at the
    next coverage run). The row is deleted — coverage reads every exemption of the round — and the audit row keeps
    what it said, who recorded it and why it was revoked. Revoking one already revoked is refused."""
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(exemption.division_id, by)
    locked = Exemption.objects.select_for_update().filter(pk=exemption.pk).first()
    if locked is None:
        raise TestingError(
            _("This exemption was already revoked."), code=TestingErrorCode.ALREADY_DONE, field="exemption"
        )
    audit.record(
        "testing.exemption.revoke",
        by=by,
        target=locked,
        division_path=locked.division_id,
        changes={
            "person": [locked.person_id, None],
            "round": [locked.round_id, None],
            "reason": [locked.reason, None],
            "note": [locked.note, note[:300] or None],
            "recorded_by": [locked.created_by_id, None],
        },
    )
    locked.delete()


@transaction.atomic
def set_lab_capacity(lab: Organization, *, tubes_per_day: int, by: User | None) -> LabCapacity:
    require(by, Capability.TESTING_MANAGE)
    require_in_scope(lab.division_id, by)
    if lab.kind != OrganizationKind.LAB:
        raise TestingError(_("Choose a laboratory."), code=TestingErrorCode.WRONG_LAB, field="lab")
    if tubes_per_day < 1:
        raise TestingError(_("The capacity must be at least one tube a day."), field="tubes_per_day")
    capacity = LabCapacity.objects.filter(lab=lab).first()
    old = capacity.tubes_per_day if capacity else None
    capacity, _created = LabCapacity.objects.update_or_create(lab=lab, defaults={"tubes_per_day": tubes_per_day})
    audit.record(
        "testing.lab.capacity",
        by=by,
        target=capacity,
        division_path=lab.division_id,
        changes={"tubes_per_day": [old, tubes_per_day]},
    )
    return capacity
