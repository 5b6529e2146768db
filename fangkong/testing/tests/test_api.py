"""The devices' and labs' API: idempotent batches, per-item errors, single scans, handover, receipt, results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fangkong.core.models import AuditEntry
from fangkong.core.tokens import issue_token
from fangkong.testing.models import DeviceBatch, Recall, Sample, SamplingFlag, Tube, TubeStatus
from fangkong.testing.tests.conftest import resident_id


def _auth(user: Any) -> dict[str, str]:
    _row, secret = issue_token(user, name="device", by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(client: Any, url: str, body: dict[str, Any], headers: dict[str, str], **extra: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers, **extra)


@pytest.fixture
def device(sampler_user: Any) -> dict[str, str]:
    return _auth(sampler_user)


def _batch(site: Any, test_round: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"site_id": site.pk, "round_id": test_round.pk, "device_id": "pad-7", "items": items}


def test_a_retried_batch_returns_the_stored_answer_and_registers_nothing_again(client, site, test_round, device):
    items = [
        {"person_code": resident_id(n), "tube_barcode": "TA00000001", "key": f"s{n}", "name": f"居民{n}"}
        for n in range(5)
    ]
    first = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, items), device, HTTP_IDEMPOTENCY_KEY="batch-1"
    )
    assert first.status_code == 200
    assert first.json()["accepted_count"] == 5
    audit_rows = AuditEntry.objects.count()

    again = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, items), device, HTTP_IDEMPOTENCY_KEY="batch-1"
    )
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["accepted"] == first.json()["accepted"]
    assert Sample.objects.count() == 5
    assert Tube.objects.get().sample_count == 5
    assert AuditEntry.objects.count() == audit_rows


def test_the_same_batch_key_for_a_different_body_is_refused(client, site, test_round, device):
    items = [{"person_code": resident_id(1), "tube_barcode": "TA00000001", "name": "甲"}]
    _post(client, "/api/testing/samples/batch", _batch(site, test_round, items), device, HTTP_IDEMPOTENCY_KEY="k")
    other = [{"person_code": resident_id(2), "tube_barcode": "TA00000001", "name": "乙"}]
    response = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, other), device, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_mismatch"
    assert Sample.objects.count() == 1


def test_a_partly_bad_batch_applies_the_good_items_and_names_the_bad_ones(client, site, test_round, device):
    items = [
        {"person_code": resident_id(1), "tube_barcode": "TA00000001", "name": "甲"},
        {"person_code": resident_id(2), "tube_barcode": "T#1", "name": "乙"},  # malformed barcode
        {"person_code": "410302199001011234", "tube_barcode": "TA00000001", "name": "丙"},  # bad check digit
        {"person_code": resident_id(3), "tube_barcode": "TA00000001"},  # unknown person, no name
        {"person_code": resident_id(4), "tube_barcode": "TA00000001", "name": "丁"},
    ]
    response = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, items), device, HTTP_IDEMPOTENCY_KEY="mixed"
    )
    body = response.json()
    assert response.status_code == 200
    assert [item["index"] for item in body["accepted"]] == [0, 4]
    assert [(e["index"], e["field"], e["code"]) for e in body["failed"]] == [
        (1, "tube_barcode", "barcode_format"),
        (2, "person_code", "person_code_format"),
        (3, "person_code", "person_unknown"),
    ]
    assert Sample.objects.count() == 2
    assert DeviceBatch.objects.get().failed_count == 3


def test_item_keys_make_single_items_idempotent_across_batches(client, site, test_round, device):
    item = {"person_code": resident_id(1), "tube_barcode": "TA00000001", "name": "甲", "key": "scan-1"}
    first = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, [item]), device, HTTP_IDEMPOTENCY_KEY="a"
    ).json()
    second = _post(
        client, "/api/testing/samples/batch", _batch(site, test_round, [item]), device, HTTP_IDEMPOTENCY_KEY="b"
    ).json()
    assert second["accepted"][0]["replayed"] is True
    assert second["accepted"][0]["sample_id"] == first["accepted"][0]["sample_id"]
    assert Sample.objects.count() == 1
    assert not SamplingFlag.objects.filter(kind="duplicate_in_round").exists()


def test_single_scan_refusals_name_the_field_and_code(client, site, test_round, device):
    body = {"site_id": site.pk, "round_id": test_round.pk, "person_code": resident_id(1), "tube_barcode": "12"}
    response = _post(client, "/api/testing/samples", body, device)
    assert response.status_code == 400
    assert (response.json()["field"], response.json()["code"]) == ("tube_barcode", "barcode_format")
    ok = _post(
        client,
        "/api/testing/samples",
        {**body, "tube_barcode": "TA00000001", "name": "甲"},
        device,
        HTTP_IDEMPOTENCY_KEY="one",
    )
    assert ok.status_code == 201
    repeat = _post(
        client,
        "/api/testing/samples",
        {**body, "tube_barcode": "TA00000001", "name": "甲"},
        device,
        HTTP_IDEMPOTENCY_KEY="one",
    )
    assert repeat.status_code == 200
    assert repeat.json()["replayed"] is True
    assert Sample.objects.count() == 1


def test_a_site_of_another_community_is_not_found(client, test_round, make_user, site):
    other = _auth(make_user("community_worker", "b"))
    items = [{"person_code": resident_id(1), "tube_barcode": "TA00000001", "name": "甲"}]
    response = _post(client, "/api/testing/samples/batch", _batch(site, test_round, items), other)
    assert response.status_code == 404
    assert not Sample.objects.exists()


def test_handover_receipt_and_results_through_the_api(client, site, test_round, device, lab, lab_user):
    items = [{"person_code": resident_id(n), "tube_barcode": "TA00000001", "name": f"居民{n}"} for n in range(10)]
    items += [{"person_code": resident_id(n), "tube_barcode": "TA00000002", "name": f"居民{n}"} for n in range(10, 12)]
    _post(client, "/api/testing/samples/batch", _batch(site, test_round, items), device)
    closed = _post(client, "/api/testing/tubes/close", {"barcode": "ta00000002"}, device)
    assert closed.json()["status"] == TubeStatus.CLOSED
    handover = _post(
        client,
        "/api/testing/handovers",
        {"site_id": site.pk, "round_id": test_round.pk, "lab_id": lab.pk, "barcodes": ["TA00000001", "TA00000002"]},
        device,
    )
    assert handover.status_code == 201
    lab_headers = _auth(lab_user)
    receipt = _post(
        client,
        f"/api/testing/handovers/{handover.json()['id']}/receipt",
        {"barcodes": ["TA00000001", "TX99999999"]},
        lab_headers,
    )
    assert receipt.json()["missing"] == ["TA00000002"]
    assert receipt.json()["unexpected"] == ["TX99999999"]

    refused = _post(
        client,
        "/api/testing/results",
        {
            "lab_id": lab.pk,
            "results": [
                {"barcode": "TA00000001", "result": "阳性", "ct_orf1ab": 27.5, "ct_n": 29},
                {"barcode": "TA00000002", "result": "阴性"},  # missing at the lab: never received
                {"barcode": "TZ00000009", "result": "阴性"},  # unknown tube
            ],
        },
        lab_headers,
    )
    assert refused.status_code == 422
    assert [(e["row"], e["code"]) for e in refused.json()["errors"]] == [(2, "tube_state"), (3, "tube_unknown")]
    assert not Recall.objects.exists()

    applied = _post(
        client,
        "/api/testing/results",
        {
            "lab_id": lab.pk,
            "results": [
                {"barcode": "TA00000001", "result": "阳性", "ct_orf1ab": 27.5, "ct_n": 29},
            ],
        },
        lab_headers,
        HTTP_IDEMPOTENCY_KEY="lab-file-1",
    )
    assert applied.status_code == 200
    assert Recall.objects.get().members.count() == 10
    again = _post(
        client,
        "/api/testing/results",
        {
            "lab_id": lab.pk,
            "results": [
                {"barcode": "TA00000001", "result": "阳性", "ct_orf1ab": 27.5, "ct_n": 29},
            ],
        },
        lab_headers,
        HTTP_IDEMPOTENCY_KEY="lab-file-1",
    )
    assert again.json()["id"] == applied.json()["id"]
