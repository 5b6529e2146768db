"""No page, API answer or export shows a full ID number or mobile number unless it is a reveal.

Walks every GET URL the permission matrix walks — with the matrix's own records in every kind of object page —
as a city HQ officer who sees everything, and scans each body (and each exported spreadsheet cell) with
core.masking.find_unmasked.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook

from fangkong.core.masking import find_unmasked
from fangkong.core.roles import Role
from tests.test_permission_matrix import app_endpoints, url_for


def _text(response) -> str:
    kind = response.get("Content-Type", "")
    if kind.startswith("image/"):
        return ""  # a QR code of a public URL: no personal data to scan
    if kind.startswith("application/vnd.openxml"):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c
        )
    return response.content.decode()


def test_every_get_page_api_answer_and_export_is_masked(client, make_user, world):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    own = {kwarg: values[0] for kwarg, values in world.items()}
    scanned = []
    for endpoint in app_endpoints():
        if "GET" not in endpoint.methods or "openapi" in endpoint.name:
            continue
        response = client.get(url_for(endpoint, own))
        if response.status_code != 200:
            continue
        leaked = find_unmasked(_text(response))
        assert not leaked, (endpoint.route, leaked)
        scanned.append(endpoint.name)
    assert {"people:search", "people:detail", "people:export", "screening:report_export", "tracing:case"} <= set(
        scanned
    )
    assert len(scanned) >= 20


def test_people_export_contains_the_people_masked(client, make_user, world):
    client.force_login(make_user(Role.CITY_HQ, "city"))
    response = client.get("/people/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    assert {"110105********002X", "440524********0014"} <= {r[1] for r in rows}
