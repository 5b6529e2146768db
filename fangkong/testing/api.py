"""The sampling devices' and labs' API (mounted at /api/testing/).

Devices upload scans in batches with an `Idempotency-Key` header: a retry of the same batch returns the stored
response (header `Idempotent-Replayed: true`) and registers nothing again; a partially failed batch answers
200 with `failed` items (index, field, code, message) while the good items are applied. Single scans may carry
the same header (the scan's own key). Labs post results all or nothing: 200 when applied, 422 with every row's
error when refused. Identities never leave in clear: responses carry registry ids, not ID numbers.
"""

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Header, Router, Schema
from ninja.responses import Response

from fangkong.core.api_access import api_requires, documented_body, json_body
from fangkong.core.errors import NotFoundError
from fangkong.core.roles import Capability
from fangkong.testing import selectors, services
from fangkong.testing.models import ImportSource, ImportStatus

router = Router(tags=["testing"])


class ScanIn(Schema):
    person_code: str
    tube_barcode: str
    sampled_at: datetime | None = None
    key: str = ""
    name: str = ""
    phone: str = ""
    home_division: str = ""
    sampler_id: int | None = None


class BatchIn(Schema):
    site_id: int
    round_id: int
    device_id: str
    items: list[ScanIn]


class SingleIn(ScanIn):
    site_id: int
    round_id: int
    device_id: str = ""


class AcceptedOut(Schema):
    index: int
    sample_id: int
    person_id: int
    tube_barcode: str
    is_duplicate: bool
    tube_closed: bool
    person_created: bool
    replayed: bool


class ItemErrorOut(Schema):
    index: int
    field: str
    code: str
    message: str


class BatchOut(Schema):
    batch_id: int | None
    replayed: bool
    accepted_count: int
    failed_count: int
    accepted: list[AcceptedOut]
    failed: list[ItemErrorOut]


class BarcodeIn(Schema):
    barcode: str


class TubeOut(Schema):
    id: int
    barcode: str
    status: str
    capacity: int
    sample_count: int


class HandoverIn(Schema):
    site_id: int
    round_id: int
    lab_id: int
    barcodes: list[str]
    courier: str = ""


class HandoverOut(Schema):
    id: int
    status: str
    tube_count: int
    handed_over_at: datetime


class ReceiptIn(Schema):
    barcodes: list[str]


class ReceiptOut(Schema):
    handover_id: int
    status: str
    received_count: int
    missing_count: int
    missing: list[str]
    unexpected: list[str]


class ResultIn(Schema):
    barcode: str
    result: str
    ct_orf1ab: float | str | None = None
    ct_n: float | str | None = None
    resulted_at: datetime | str | None = None


class ResultsIn(Schema):
    lab_id: int
    results: list[ResultIn]


class ImportOut(Schema):
    id: int
    status: str
    row_count: int
    positive_count: int
    errors: list[dict[str, Any]]


class RoundOut(Schema):
    id: int
    name: str
    division: str
    starts_at: datetime
    ends_at: datetime
    pool_size: int
    status: str

    @staticmethod
    def resolve_division(obj: Any) -> str:
        return str(obj.division_id)


class SiteOut(Schema):
    id: int
    name: str
    kind: str
    division: str
    hourly_capacity: int

    @staticmethod
    def resolve_division(obj: Any) -> str:
        return str(obj.division_id)


def _item(scan: ScanIn) -> services.SampleItem:
    return services.SampleItem(
        person_code=scan.person_code,
        tube_barcode=scan.tube_barcode,
        sampled_at=scan.sampled_at,
        key=scan.key,
        name=scan.name,
        phone=scan.phone,
        home_division=scan.home_division,
        sampler_id=scan.sampler_id,
    )


@router.get("/rounds", response=list[RoundOut])
@api_requires(Capability.TESTING_VIEW)
def list_rounds(request: HttpRequest, status: str = "") -> Any:
    rounds = selectors.rounds_for(request.user)  # type: ignore[arg-type]
    return rounds.filter(status=status) if status else rounds


@router.get("/sites", response=list[SiteOut])
@api_requires(Capability.TESTING_VIEW)
def list_sites(request: HttpRequest) -> Any:
    return selectors.sites_for(request.user, active_only=True)  # type: ignore[arg-type]


@router.post("/samples/batch", response=BatchOut, openapi_extra=documented_body(BatchIn))
@api_requires(Capability.TESTING_SAMPLE)
def register_batch(
    request: HttpRequest,
    idempotency_key: str = Header(default="", alias="Idempotency-Key"),
) -> HttpResponse:
    """Register a device's batch of scans. Send `Idempotency-Key` (unique per batch on the device) so that a
    retry after a timeout or a server restart is answered from the stored result."""
    payload = json_body(request, BatchIn)
    user = request.user
    site = selectors.access_site(user, payload.site_id)  # type: ignore[arg-type]
    test_round = selectors.access_round(user, payload.round_id)  # type: ignore[arg-type]
    result = services.register_samples(
        site,
        test_round=test_round,
        items=[_item(scan) for scan in payload.items],
        by=user,  # type: ignore[arg-type]
        device_id=payload.device_id,
        batch_key=idempotency_key.strip(),
    )
    response = Response(result.as_dict(), status=200)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.post("/samples", response={200: AcceptedOut, 201: AcceptedOut}, openapi_extra=documented_body(SingleIn))
@api_requires(Capability.TESTING_SAMPLE)
def register_single(
    request: HttpRequest,
    idempotency_key: str = Header(default="", alias="Idempotency-Key"),
) -> tuple[int, dict[str, Any]]:
    """One scan. A refused scan answers 400 with `code` and `field`; a repeat of a stored key answers 200."""
    payload = json_body(request, SingleIn)
    user = request.user
    site, test_round = selectors.scan_target(user, payload.site_id, payload.round_id)  # type: ignore[arg-type]
    data = payload.dict()
    for name in ("site_id", "round_id", "device_id"):
        data.pop(name)
    if idempotency_key.strip():
        data["key"] = idempotency_key.strip()
    done = services.register_sample(
        site,
        test_round=test_round,
        item=services.SampleItem(**data),
        by=user,  # type: ignore[arg-type]
        device_id=payload.device_id,
    )
    return (200 if done.replayed else 201), asdict(done)


@router.post("/tubes/close", response=TubeOut, openapi_extra=documented_body(BarcodeIn))
@api_requires(Capability.TESTING_SAMPLE)
def close_tube(request: HttpRequest) -> Any:
    payload = json_body(request, BarcodeIn)
    tube = selectors.tube_by_barcode(request.user, payload.barcode.strip().upper())  # type: ignore[arg-type]
    if tube is None:
        raise NotFoundError()
    return services.close_tube(tube, by=request.user)  # type: ignore[arg-type]


@router.post("/handovers", response={201: HandoverOut}, openapi_extra=documented_body(HandoverIn))
@api_requires(Capability.TESTING_SAMPLE)
def create_handover(request: HttpRequest) -> tuple[int, Any]:
    payload = json_body(request, HandoverIn)
    user = request.user
    handover = services.hand_over(
        selectors.access_site(user, payload.site_id),  # type: ignore[arg-type]
        test_round=selectors.access_round(user, payload.round_id),  # type: ignore[arg-type]
        lab=selectors.access_lab(user, payload.lab_id),  # type: ignore[arg-type]
        barcodes=payload.barcodes,
        courier=payload.courier,
        by=user,  # type: ignore[arg-type]
    )
    return 201, handover


@router.post("/handovers/{handover_id}/receipt", response=ReceiptOut, openapi_extra=documented_body(ReceiptIn))
@api_requires(Capability.TESTING_LAB)
def receive_handover(request: HttpRequest, handover_id: int) -> dict[str, Any]:
    handover = selectors.access_handover(request.user, handover_id)  # type: ignore[arg-type]
    payload = json_body(request, ReceiptIn)
    receipt = services.confirm_receipt(handover, barcodes=payload.barcodes, by=request.user)  # type: ignore[arg-type]
    missing = [item.tube.barcode for item in selectors.handover_items(handover) if item.status == "missing"]
    return {
        "handover_id": handover.pk,
        "status": receipt.handover.status,
        "received_count": receipt.received_count,
        "missing_count": receipt.missing_count,
        "missing": missing,
        "unexpected": receipt.unexpected_barcodes,
    }


@router.post("/results", response={200: ImportOut, 422: ImportOut}, openapi_extra=documented_body(ResultsIn))
@api_requires(Capability.TESTING_LAB)
def post_results(
    request: HttpRequest,
    idempotency_key: str = Header(default="", alias="Idempotency-Key"),
) -> tuple[int, Any]:
    """Results for many tubes, all or nothing. 422 lists every row's error (row = position in `results`,
    from 1); 200 when applied. With `Idempotency-Key`, a repeat returns the applied import unchanged."""
    payload = json_body(request, ResultsIn)
    lab = selectors.access_lab(request.user, payload.lab_id)  # type: ignore[arg-type]
    rows = [
        services.ResultRow(
            row=index,
            barcode=item.barcode,
            result=item.result,
            ct_orf1ab=item.ct_orf1ab,
            ct_n=item.ct_n,
            resulted_at=item.resulted_at,
        )
        for index, item in enumerate(payload.results, start=1)
    ]
    done = services.import_results(
        lab,
        rows=rows,
        by=request.user,  # type: ignore[arg-type]
        source=ImportSource.API,
        idempotency_key=idempotency_key.strip(),
    )
    return (200 if done.status == ImportStatus.APPLIED else 422), done
