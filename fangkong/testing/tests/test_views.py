"""The pages a sampler and a lab click through: scan at the station, hand over, receive, upload, retest."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.testing import services
from fangkong.testing.models import HandoverStatus, ImportStatus, Recall, ResultImport, Sample, Tube
from fangkong.testing.services import SampleItem
from fangkong.testing.tests.conftest import resident_id


def _scan(client: Any, site: Any, test_round: Any, person: str, tube: str, **extra: str) -> Any:
    return client.post(
        "/testing/station/scan/",
        {"site": site.pk, "round": test_round.pk, "person_code": person, "tube_barcode": tube, **extra},
        HTTP_HX_REQUEST="true",
    )


def test_the_station_registers_scans_and_keeps_the_tube_until_it_is_full(client, site, test_round, sampler_user):
    client.force_login(sampler_user)
    page = client.get(f"/testing/station/?site={site.pk}&round={test_round.pk}")
    assert page.status_code == 200
    assert 'data-testid="scan-form"' in page.content.decode()
    response = _scan(client, site, test_round, resident_id(1), "TS00000001", name="甲")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="scan-ok"' in body
    assert 'value="TS00000001"' in body  # the tube stays in the field for the next person
    assert resident_id(1) not in body  # ID numbers shown masked
    refused = _scan(client, site, test_round, resident_id(2), "TS#1", name="乙")
    assert refused.status_code == 400
    assert 'data-code="barcode_format"' in refused.content.decode()
    assert Sample.objects.count() == 1


def test_a_community_b_site_is_not_found_at_the_station(client, site, test_round, make_user):
    client.force_login(make_user("community_worker", "b"))
    assert client.get(f"/testing/station/?site={site.pk}&round={test_round.pk}").status_code == 404
    assert _scan(client, site, test_round, resident_id(1), "TS00000001", name="甲").status_code == 404
    assert not Sample.objects.exists()


def test_handover_receipt_upload_and_retest_through_the_pages(client, site, test_round, sampler_user, lab, lab_user):
    items = [SampleItem(person_code=resident_id(n), tube_barcode="TS00000001", name=f"居民{n}") for n in range(10)]
    services.register_samples(site, test_round=test_round, items=items, by=sampler_user)
    client.force_login(sampler_user)
    form = client.get(f"/testing/handovers/new/?site={site.pk}&round={test_round.pk}")
    assert "TS00000001" in form.content.decode()  # closed tubes prefilled
    done = client.post(
        "/testing/handovers/new/",
        {"site": site.pk, "round": test_round.pk, "lab": lab.pk, "barcodes": "TS00000001\n", "courier": "王师傅"},
    )
    assert done.status_code == 302
    handover_url = done["Location"]

    client.force_login(lab_user)
    client.post(handover_url + "receive/", {"barcodes": "TS00000001"})
    assert Tube.objects.get().handover_item.handover.status == HandoverStatus.RECEIVED
    upload = SimpleUploadedFile("lab.csv", "管号,结果\nTS00000001,阳性\n".encode())
    imported = client.post("/testing/results/upload/", {"lab": lab.pk, "file": upload})
    assert imported.status_code == 302
    assert ResultImport.objects.get().status == ImportStatus.APPLIED
    report = client.get(imported["Location"])
    assert 'data-status="applied"' in report.content.decode()
    wrong = SimpleUploadedFile("wrong.csv", "样本,结论\nTS00000001,阳性\n".encode())
    refused = client.get(client.post("/testing/results/upload/", {"lab": lab.pk, "file": wrong})["Location"])
    assert 'data-code="columns"' in refused.content.decode()

    client.force_login(sampler_user)
    recalls = client.get("/testing/recalls/")
    assert recalls.content.decode().count('data-testid="recall-member"') == 10
    member = Recall.objects.get().members.order_by("pk").first()
    row = client.post(
        f"/testing/recalls/members/{member.pk}/retest/", {"barcode": "RS00000001"}, HTTP_HX_REQUEST="true"
    )
    assert 'data-status="retest_sampled"' in row.content.decode()
    again = client.post(
        f"/testing/recalls/members/{member.pk}/retest/", {"barcode": "RS00000002"}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 400
