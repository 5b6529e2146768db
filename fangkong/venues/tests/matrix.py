"""The venue module's records in the permission matrix's world: a venue, a check-in and a check-in import in
community A and in community B (see tests/test_permission_matrix.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fangkong.venues.models import CheckIn, CheckInImport, Venue
from fangkong.venues.services import VenueInput, register_venue


def world(tree: dict[str, Any], register: Any, hq: Any) -> dict[str, tuple[Any, Any]]:
    venues = {}
    check_ins = {}
    imports = {}
    for where in "ab":
        venue = register_venue(
            VenueInput(name=f"矩阵超市{where}", category="supermarket", division=tree[where].path), by=hq
        )
        visitor = register(where, name="矩阵访客", phone=f"1376666000{'1' if where == 'a' else '2'}")
        now = timezone.now()
        check_ins[where] = CheckIn.objects.create(
            venue=venue,
            division=venue.division,
            person=visitor,
            checked_in_at=now,
            ends_at=now,
            source="staff",
        ).pk
        imports[where] = CheckInImport.objects.create(
            division=tree[where], file_name=f"{where}.csv", file_path="", sha256=where * 64, size=1
        ).pk
        venues[where] = venue
    return {
        "venue_id": (venues["a"].pk, venues["b"].pk),
        "venue_code": (venues["a"].code, venues["b"].code),
        "check_in_id": (check_ins["a"], check_ins["b"]),
        "checkin_import_id": (imports["a"], imports["b"]),
    }


def snapshot() -> tuple[Any, ...]:
    return (
        tuple(
            Venue.objects.order_by("pk").values_list("name", "category", "division_id", "is_active", "dwell_minutes")
        ),
        tuple(CheckIn.objects.order_by("pk").values_list("person_id", "venue_id", "checked_out_at", "ends_at")),
        tuple(CheckInImport.objects.order_by("pk").values_list("rows", "errors", "job_id", "mapping")),
    )
