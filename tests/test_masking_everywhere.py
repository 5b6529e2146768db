"""No page, API answer or export shows a full ID number or mobile number unless it is a reveal.

Walks every GET URL the permission matrix walks, as a city HQ officer who sees everything, with people whose
numbers are known, and scans each body (and each exported spreadsheet cell) with core.masking.find_unmasked.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from fangkong.core.masking import find_unmasked
from fangkong.core.roles import Role
from tests.test_permission_matrix import app_endpoints, url_for

NUMBERS = [("11010519491231002X", "13811110001"), ("440524188001010014", "13922220002")]


@pytest.fixture
def everyone(tree, register):
    people = [register("a", name="甲", document_number=d, phone=p) for d, p in NUMBERS]
    register("b", name="乙", phone="13811110001")  # same phone: a merge candidate to list
    return people


def test_every_get_page_and_api_answer_is_masked(client, make_user, everyone):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    nothing = "00000000-0000-0000-0000-000000000000"
    from fangkong.screening.services import list_person

    entry = list_person(everyone[0], reason="arrival", source="manual", by=None).entry
    values = {
        "person_id": everyone[0].pk,
        "candidate_id": 0,
        "job_id": nothing,
        "plan_id": nothing,
        "entry_id": entry.pk,
    }
    scanned = 0
    for endpoint in app_endpoints():
        if "GET" not in endpoint.methods or "openapi" in endpoint.name:
            continue
        response = client.get(url_for(endpoint, values))
        if response.status_code != 200:
            continue
        body = response.content
        if response.get("Content-Type", "").startswith("application/vnd.openxml"):
            book = load_workbook(io.BytesIO(body), read_only=True)
            text = "\n".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row if c)
        else:
            text = body.decode()
        leaked = find_unmasked(text)
        assert not leaked, (endpoint.route, leaked)
        scanned += 1
    assert scanned >= 8


def test_export_contains_the_people_masked(client, make_user, everyone):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    response = client.get("/people/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    assert {"110105********002X", "440524********0014"} <= {r[1] for r in rows}
