"""Chain of custody: a site hands closed tubes to a lab (交接), the lab confirms what arrived (签收).

Both steps are all or nothing: one bad barcode refuses the whole handover with every bad line listed (index,
field, code), because a transport box is packed and signed as one. Open tubes on a handover are closed by it
(the partial tube at the end of a shift). At receipt the lab scans what it unpacked: listed tubes scanned are
`received`, listed tubes not scanned are `missing` (the tube too), and scans the handover did not list are kept
on the receipt as `unexpected_barcodes` for the lab to chase.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import audit
from fangkong.core.models import Organization, OrganizationKind, User
from fangkong.core.roles import Capability
from fangkong.testing.codes import CodeError, normalize_barcode
from fangkong.testing.models import (
    CustodyStatus,
    Handover,
    HandoverStatus,
    HandoverTube,
    LabReceipt,
    SamplingSite,
    TestRound,
    Tube,
    TubeStatus,
)
from fangkong.testing.services.common import TestingError, TestingErrorCode, code_of, require, require_in_scope


def _details(index: int, field: str, code: str, message: str) -> dict[str, object]:
    return {"index": index, "field": field, "code": code, "message": message}


def _barcodes(raw: list[str]) -> tuple[list[str], list[dict[str, object]]]:
    codes: list[str] = []
    problems: list[dict[str, object]] = []
    seen: set[str] = set()
    for index, value in enumerate(raw):
        try:
            barcode = normalize_barcode(value)
        except CodeError as error:
            problems.append(_details(index, "barcodes", str(error.code), error.message))
            continue
        if barcode in seen:
            problems.append(
                _details(
                    index,
                    "barcodes",
                    TestingErrorCode.TUBE_REPEATED,
                    _("Tube %(barcode)s is listed twice.") % {"barcode": barcode},
                )
            )
            continue
        seen.add(barcode)
        codes.append(barcode)
    return codes, problems


def _refuse(problems: list[dict[str, object]], field: str = "barcodes") -> TestingError:
    first = problems[0]
    return TestingError(str(first["message"]), code=code_of(str(first["code"])), field=field, details=problems)


@transaction.atomic
def hand_over(
    site: SamplingSite,
    *,
    test_round: TestRound,
    lab: Organization,
    barcodes: list[str],
    by: User | None,
    courier: str = "",
    at: datetime | None = None,
) -> Handover:
    """Put the listed tubes of `site` in `test_round` on one transport batch to `lab`."""
    require(by, Capability.TESTING_SAMPLE)
    require_in_scope(site.division_id, by)
    if lab.kind != OrganizationKind.LAB:
        raise TestingError(_("Choose a laboratory."), code=TestingErrorCode.WRONG_LAB, field="lab")
    if not barcodes:
        raise TestingError(_("Scan at least one tube."), code=TestingErrorCode.INVALID, field="barcodes")
    at = at or timezone.now()
    codes, problems = _barcodes(barcodes)
    position = {barcode: index for index, barcode in enumerate(normalize_or_blank(b) for b in barcodes)}
    tubes = {t.barcode: t for t in Tube.objects.select_for_update().filter(barcode__in=codes).order_by("barcode")}
    for barcode in codes:
        tube = tubes.get(barcode)
        index = position[barcode]
        if tube is None:
            problems.append(
                _details(
                    index,
                    "barcodes",
                    TestingErrorCode.TUBE_UNKNOWN,
                    _("Tube %(barcode)s was never sampled.") % {"barcode": barcode},
                )
            )
        elif tube.site_id != site.pk or tube.round_id != test_round.pk:
            problems.append(
                _details(
                    index,
                    "barcodes",
                    TestingErrorCode.TUBE_USED,
                    _("Tube %(barcode)s belongs to another site or round.") % {"barcode": barcode},
                )
            )
        elif tube.status not in (TubeStatus.OPEN, TubeStatus.CLOSED):
            problems.append(
                _details(
                    index,
                    "barcodes",
                    TestingErrorCode.TUBE_STATE,
                    _("Tube %(barcode)s was already handed over.") % {"barcode": barcode},
                )
            )
        elif tube.sample_count == 0:
            problems.append(
                _details(
                    index,
                    "barcodes",
                    TestingErrorCode.TUBE_STATE,
                    _("Tube %(barcode)s is empty.") % {"barcode": barcode},
                )
            )
    if problems:
        raise _refuse(sorted(problems, key=lambda p: int(str(p["index"]))))
    handover = Handover.objects.create(
        site=site,
        round=test_round,
        lab=lab,
        division_id=site.division_id,
        courier=courier[:100],
        tube_count=len(codes),
        handed_over_at=at,
        handed_over_by=by if by is not None and by.pk else None,
    )
    HandoverTube.objects.bulk_create([HandoverTube(handover=handover, tube=tubes[b]) for b in codes])
    Tube.objects.filter(pk__in=[tubes[b].pk for b in codes], status=TubeStatus.OPEN).update(closed_at=at)
    Tube.objects.filter(pk__in=[tubes[b].pk for b in codes]).update(
        status=TubeStatus.HANDED_OVER, handed_over_at=at, lab=lab
    )
    audit.record(
        "testing.handover.create",
        by=by,
        target=handover,
        division_path=site.division_id,
        changes={"lab": [None, lab.pk], "tubes": [None, len(codes)], "round": [None, test_round.pk]},
    )
    return handover


def normalize_or_blank(value: str) -> str:
    try:
        return normalize_barcode(value)
    except CodeError:
        return ""


def _require_lab(handover: Handover, by: User | None) -> None:
    require(by, Capability.TESTING_LAB)
    if by is None:
        return
    if (
        by.organization_id is not None
        and by.organization_id != handover.lab_id
        and not by.can(Capability.TESTING_MANAGE)
    ):
        raise TestingError(_("This handover goes to another lab."), code=TestingErrorCode.WRONG_LAB, field="handover")
    require_in_scope(handover.division_id, by)


@transaction.atomic
def confirm_receipt(
    handover: Handover, *, barcodes: list[str], by: User | None, at: datetime | None = None
) -> LabReceipt:
    """The lab's receipt: the scanned tubes are received; listed tubes not scanned are missing."""
    _require_lab(handover, by)
    handover = Handover.objects.select_for_update().get(pk=handover.pk)
    if handover.status != HandoverStatus.IN_TRANSIT:
        raise TestingError(
            _("This handover was already received."), code=TestingErrorCode.ALREADY_DONE, field="handover"
        )
    codes, problems = _barcodes(barcodes)
    if problems:
        raise _refuse(problems)
    at = at or timezone.now()
    items = list(HandoverTube.objects.select_related("tube").filter(handover=handover).order_by("tube__barcode"))
    listed = {item.tube.barcode: item for item in items}
    scanned = set(codes)
    received = [item for barcode, item in listed.items() if barcode in scanned]
    missing = [item for barcode, item in listed.items() if barcode not in scanned]
    unexpected = sorted(scanned - set(listed))
    HandoverTube.objects.filter(pk__in=[i.pk for i in received]).update(status=CustodyStatus.RECEIVED, received_at=at)
    HandoverTube.objects.filter(pk__in=[i.pk for i in missing]).update(status=CustodyStatus.MISSING)
    Tube.objects.filter(pk__in=[i.tube_id for i in received]).update(status=TubeStatus.RECEIVED, received_at=at)
    Tube.objects.filter(pk__in=[i.tube_id for i in missing]).update(status=TubeStatus.MISSING)
    handover.status = HandoverStatus.RECEIVED_WITH_MISSING if missing else HandoverStatus.RECEIVED
    handover.received_at = at
    handover.save(update_fields=["status", "received_at"])
    receipt = LabReceipt.objects.create(
        handover=handover,
        lab_id=handover.lab_id,
        received_at=at,
        received_by=by if by is not None and by.pk else None,
        received_count=len(received),
        missing_count=len(missing),
        unexpected_barcodes=unexpected,
    )
    audit.record(
        "testing.handover.receive",
        by=by,
        target=handover,
        division_path=handover.division_id,
        changes={
            "status": [HandoverStatus.IN_TRANSIT, handover.status],
            "received": [None, len(received)],
            "missing": [None, [i.tube.barcode for i in missing]],
            "unexpected": [None, unexpected],
        },
    )
    return receipt


@transaction.atomic
def receive_missing_tube(handover: Handover, *, barcode: str, by: User | None, at: datetime | None = None) -> Tube:
    """A tube reported missing turns up at the lab later: it is received then (and can be resulted)."""
    _require_lab(handover, by)
    try:
        code = normalize_barcode(barcode)
    except CodeError as error:
        raise TestingError(error.message, code=error.code, field="barcode") from error
    item = (
        HandoverTube.objects.select_for_update()
        .select_related("tube")
        .filter(handover=handover, tube__barcode=code, status=CustodyStatus.MISSING)
        .first()
    )
    if item is None:
        raise TestingError(
            _("Tube %(barcode)s is not missing from this handover.") % {"barcode": code},
            code=TestingErrorCode.TUBE_STATE,
            field="barcode",
        )
    at = at or timezone.now()
    item.status = CustodyStatus.RECEIVED
    item.received_at = at
    item.save(update_fields=["status", "received_at"])
    Tube.objects.filter(pk=item.tube_id).update(status=TubeStatus.RECEIVED, received_at=at)
    LabReceipt.objects.filter(handover=handover).update(
        received_count=HandoverTube.objects.filter(handover=handover, status=CustodyStatus.RECEIVED).count(),
        missing_count=HandoverTube.objects.filter(handover=handover, status=CustodyStatus.MISSING).count(),
    )
    if not HandoverTube.objects.filter(handover=handover, status=CustodyStatus.MISSING).exists():
        Handover.objects.filter(pk=handover.pk).update(status=HandoverStatus.RECEIVED)
    audit.record(
        "testing.tube.received_late",
        by=by,
        target=item.tube,
        division_path=handover.division_id,
        changes={"status": [TubeStatus.MISSING, TubeStatus.RECEIVED]},
    )
    item.tube.refresh_from_db()
    return item.tube
