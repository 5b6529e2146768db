"""Pickup and arrival: transfer runs (转运) to a site, planned → en route → arrived, and arriving without one;
an arrival moves the screening ledger to quarantined_central."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.quarantine.models import (
    PickupBatch,
    PickupMember,
    PickupStatus,
    Placement,
    PlacementStatus,
    Site,
)
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    require,
    require_in_scope,
)
from fangkong.quarantine.services.placement_requests import CHUNK
from fangkong.screening import services as screening

E = QuarantineErrorCode


def _arrive(placements: list[Placement], *, by: User | None, at: datetime, note: str) -> int:
    ids = [p.pk for p in placements if p.status == PlacementStatus.WAITING]
    for start in range(0, len(ids), CHUNK):
        Placement.objects.filter(pk__in=ids[start : start + CHUNK], status=PlacementStatus.WAITING).update(
            status=PlacementStatus.PLACED, placed_at=at
        )
    screening.record_quarantined_many(
        {p.person_id: True for p in placements if p.pk in set(ids)}, by=by, note=note, at=at
    )
    return len(ids)


@transaction.atomic
def record_arrival(placement: Placement, *, by: User | None, at: datetime | None = None) -> Placement:
    """Someone allocated a room came to the site without a pickup batch: they are now in quarantine, and so are
    the companions waiting to share their room (a child comes with their guardian)."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(placement.division_id, by)
    placement = Placement.objects.select_for_update().get(pk=placement.pk)
    if placement.status != PlacementStatus.WAITING:
        raise QuarantineError(
            _("Only someone waiting for transfer can arrive."), code=E.INVALID_STATUS_CHANGE, field="status"
        )
    at = at or timezone.now()
    companions = list(
        Placement.objects.select_for_update().filter(companion_of=placement, status=PlacementStatus.WAITING)
    )
    _arrive([placement, *companions], by=by, at=at, note="arrived at the site")
    audit.record(
        "quarantine.placement.arrive",
        by=by,
        target=placement,
        division_path=placement.division_id,
        changes={
            "status": [PlacementStatus.WAITING, PlacementStatus.PLACED],
            "companions": [None, [c.pk for c in companions]],
        },
    )
    placement.refresh_from_db()
    return placement


@transaction.atomic
def create_pickup_batch(
    site: Site,
    *,
    placements: Sequence[Placement],
    scheduled_at: datetime,
    by: User | None,
    vehicle: str = "",
    driver_name: str = "",
) -> PickupBatch:
    """A transfer run to `site` for people allocated a room there and not yet in another open batch."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(site.division_id, by)
    if not placements:
        raise QuarantineError(_("Choose the people to pick up."), field="placements")
    ids = [p.pk for p in placements]
    locked = list(Placement.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("person"))
    for placement in locked:
        if placement.site_id != site.pk or placement.status != PlacementStatus.WAITING:
            raise QuarantineError(
                _("%(person)s is not waiting for transfer to this site.") % {"person": placement.person},
                code=E.INVALID_STATUS_CHANGE,
                field="placements",
            )
    busy = PickupMember.objects.filter(
        placement_id__in=ids, batch__status__in=[PickupStatus.PLANNED, PickupStatus.EN_ROUTE]
    ).exists()
    if busy:
        raise QuarantineError(
            _("Someone chosen is already in another pickup batch."), code=E.INVALID_STATUS_CHANGE, field="placements"
        )
    batch = PickupBatch.objects.create(
        site=site,
        scheduled_at=scheduled_at,
        vehicle=vehicle[:40],
        driver_name=driver_name[:100],
        created_by=by if by is not None and by.pk else None,
    )
    PickupMember.objects.bulk_create(
        PickupMember(batch=batch, placement=placement, pickup_address=placement.person.address[:300])
        for placement in locked
    )
    audit.record(
        "quarantine.pickup.create",
        by=by,
        target=batch,
        division_path=site.division_id,
        changes={"placements": [None, ids], "scheduled_at": [None, scheduled_at.isoformat()]},
    )
    return batch


PICKUP_TRANSITIONS: dict[str, frozenset[str]] = {
    PickupStatus.PLANNED: frozenset({PickupStatus.EN_ROUTE, PickupStatus.ARRIVED, PickupStatus.CANCELLED}),
    PickupStatus.EN_ROUTE: frozenset({PickupStatus.ARRIVED, PickupStatus.CANCELLED}),
    PickupStatus.ARRIVED: frozenset(),
    PickupStatus.CANCELLED: frozenset(),
}


@transaction.atomic
def set_pickup_status(batch: PickupBatch, *, status: str, by: User | None, at: datetime | None = None) -> PickupBatch:
    """planned → en route (departed) → arrived: everyone in the batch is now in quarantine at the site and the
    ledger says so; or cancelled (they wait for another batch)."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(batch.site.division_id, by)
    batch = PickupBatch.objects.select_for_update().get(pk=batch.pk)
    if status not in PICKUP_TRANSITIONS or status not in PICKUP_TRANSITIONS[batch.status]:
        raise QuarantineError(
            _("A pickup batch cannot go from %(old)s to %(new)s.")
            % {"old": PickupStatus(batch.status).label, "new": status},
            code=E.INVALID_STATUS_CHANGE,
            field="status",
        )
    at = at or timezone.now()
    old = batch.status
    batch.status = status
    fields = ["status"]
    if status == PickupStatus.EN_ROUTE:
        batch.departed_at = at
        fields.append("departed_at")
    if status == PickupStatus.ARRIVED:
        batch.arrived_at = at
        fields.append("arrived_at")
        if batch.departed_at is None:
            batch.departed_at = at
            fields.append("departed_at")
        members = list(Placement.objects.select_for_update().filter(pickups__batch=batch))
        _arrive(members, by=by, at=at, note="arrived with a pickup batch")
        PickupMember.objects.filter(batch=batch, picked_up_at__isnull=True).update(picked_up_at=at)
    batch.save(update_fields=fields)
    audit.record(
        "quarantine.pickup.status",
        by=by,
        target=batch,
        division_path=batch.site.division_id,
        changes={"status": [old, status]},
    )
    return batch
