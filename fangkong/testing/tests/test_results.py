"""Chain of custody and lab results: handovers all or nothing, missing tubes listed, lab files refused with row
and reason and never half-applied, positive pools recalled into the loop, negatives moved to tested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from fangkong.core.models import AuditEntry
from fangkong.people.models import Person
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.screening.services import list_person
from fangkong.testing import services
from fangkong.testing.models import (
    CustodyStatus,
    HandoverStatus,
    ImportStatus,
    Recall,
    RecallMember,
    ResultImport,
    Tube,
    TubeResult,
    TubeStatus,
)
from fangkong.testing.services import ResultRow, SampleItem, TestingError
from fangkong.testing.tests.conftest import resident_id


@pytest.fixture
def received(site, test_round, sampler_user, lab, lab_user) -> dict[str, Any]:
    """Three closed tubes of 10 handed over; the lab received two, the third is missing."""
    people = {}
    for t in range(3):
        barcode = f"TR0000000{t}"
        items = [
            SampleItem(person_code=resident_id(t * 10 + n), tube_barcode=barcode, name=f"居民{t}{n}") for n in range(10)
        ]
        result = services.register_samples(site, test_round=test_round, items=items, by=sampler_user)
        people[barcode] = [a.person_id for a in result.accepted]
    handover = services.hand_over(site, test_round=test_round, lab=lab, barcodes=list(people), by=sampler_user)
    services.confirm_receipt(handover, barcodes=["TR00000000", "TR00000001"], by=lab_user)
    return {"handover": handover, "people": people}


def _csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "results.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _unchanged() -> tuple[Any, ...]:
    return (
        TubeResult.objects.count(),
        Recall.objects.count(),
        tuple(Tube.objects.order_by("pk").values_list("status", flat=True)),
        PoolEntry.objects.count(),
    )


def test_a_handover_with_one_bad_line_is_refused_whole(site, test_round, sampler_user, lab):
    services.register_samples(
        site,
        test_round=test_round,
        by=sampler_user,
        items=[SampleItem(person_code=resident_id(1), tube_barcode="TR00000000", name="甲")],
    )
    with pytest.raises(TestingError) as refused:
        services.hand_over(
            site, test_round=test_round, lab=lab, by=sampler_user, barcodes=["TR00000000", "bad#1", "TR99999999"]
        )
    assert [(d["index"], d["code"]) for d in refused.value.details] == [(1, "barcode_format"), (2, "tube_unknown")]
    assert Tube.objects.get().status == TubeStatus.OPEN


def test_the_receipt_lists_missing_tubes(received):
    handover = received["handover"]
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.RECEIVED_WITH_MISSING
    missing = handover.items.filter(status=CustodyStatus.MISSING)
    assert [item.tube.barcode for item in missing] == ["TR00000002"]
    assert Tube.objects.get(barcode="TR00000002").status == TubeStatus.MISSING
    assert handover.receipt.missing_count == 1


def test_a_lab_file_with_wrong_columns_is_refused_at_its_header(received, lab, lab_user, tmp_path):
    before = _unchanged()
    path = _csv(tmp_path, "样本,检测\nTR00000000,阴性\n")
    done = services.import_result_file(lab, path=path, file_name="wrong.csv", by=lab_user)
    assert done.status == ImportStatus.REFUSED
    assert [(e["row"], e["field"], e["code"]) for e in done.errors] == [(1, "columns", "columns")]
    assert _unchanged() == before


def test_a_file_with_bad_rows_is_refused_whole_with_each_row_and_reason(received, lab, lab_user, tmp_path):
    list_person(Person.objects.get(pk=received["people"]["TR00000000"][0]), reason="arrival", source="manual", by=None)
    before = _unchanged()
    text = (
        "管号,结果,ORF1ab,N,检测时间\n"
        "TR00000000,阴性,,,2020-01-01 08:00\n"  # before the lab received it
        "TR0000#001,阴性,,,\n"  # malformed barcode
        "TR00000002,阴性,,,\n"  # missing at the lab: never received
        "TZ00000001,阳性,25,26,\n"  # unknown tube
        "TR00000001,maybe,,,\n"  # unknown result
        "TR00000003,阳性,abc,26,\n"  # bad Ct
    )
    done = services.import_result_file(lab, path=_csv(tmp_path, text, "gbk"), file_name="bad.csv", by=lab_user)
    assert done.status == ImportStatus.REFUSED
    assert [(e["row"], e["field"], e["code"]) for e in done.errors] == [
        (2, "resulted_at", "resulted_at"),
        (3, "barcode", "barcode_format"),
        (4, "barcode", "tube_state"),
        (5, "barcode", "tube_unknown"),
        (6, "result", "result_value"),
        (7, "ct_orf1ab", "ct_value"),
    ]
    assert _unchanged() == before
    assert PoolEntry.objects.get().state == LoopState.LISTED


def test_a_good_xlsx_applies_results_recalls_the_positive_pool_and_moves_negatives_to_tested(
    received, lab, lab_user, tmp_path
):
    negative_person = received["people"]["TR00000001"][0]
    list_person(Person.objects.get(pk=negative_person), reason="arrival", source="manual", by=None)
    book = Workbook()
    sheet = book.active
    sheet.append(["条码", "检测结果", "ORF1ab基因Ct值", "N基因Ct值"])
    sheet.append(["TR00000000", "阳性", 28.4, 30.2])
    sheet.append(["TR00000001", "阴性", None, None])
    path = tmp_path / "lab.xlsx"
    book.save(path)
    done = services.import_result_file(lab, path=path, file_name="lab.xlsx", by=lab_user)
    assert done.status == ImportStatus.APPLIED, done.errors
    assert done.positive_count == 1
    recall = Recall.objects.get(tube__barcode="TR00000000")
    assert sorted(RecallMember.objects.filter(recall=recall).values_list("person_id", flat=True)) == sorted(
        received["people"]["TR00000000"]
    )
    listed = PoolEntry.objects.filter(person_id__in=received["people"]["TR00000000"])
    assert listed.count() == 10
    assert all("pool_positive" in entry.reasons for entry in listed)
    assert PoolEntry.objects.get(person_id=negative_person).state == LoopState.TESTED
    assert str(TubeResult.objects.get(tube__barcode="TR00000000").ct_orf1ab) == "28.4"
    assert AuditEntry.objects.filter(action="testing.results.apply").count() == 1

    again = services.import_result_file(lab, path=path, file_name="lab.xlsx", by=lab_user)
    assert again.status == ImportStatus.REFUSED
    assert again.errors[0]["code"] == "already_imported"
    assert TubeResult.objects.count() == 2


def test_a_result_for_a_tube_already_resulted_is_refused(received, lab, lab_user):
    services.import_results(lab, rows=[ResultRow(row=1, barcode="TR00000001", result="negative")], by=lab_user)
    done = services.import_results(lab, rows=[ResultRow(row=1, barcode="TR00000001", result="positive")], by=lab_user)
    assert done.status == ImportStatus.REFUSED
    assert done.errors[0]["code"] == "already_resulted"
    assert TubeResult.objects.get().result == "negative"
    assert ResultImport.objects.filter(status=ImportStatus.APPLIED).count() == 1


def test_a_missing_tube_that_turns_up_can_be_received_and_resulted(received, lab, lab_user):
    services.receive_missing_tube(received["handover"], barcode="TR00000002", by=lab_user)
    done = services.import_results(lab, rows=[ResultRow(row=1, barcode="TR00000002", result="阴性")], by=lab_user)
    assert done.status == ImportStatus.APPLIED
    received["handover"].refresh_from_db()
    assert received["handover"].status == HandoverStatus.RECEIVED
