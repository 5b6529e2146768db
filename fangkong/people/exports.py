"""Spreadsheet export of a person list: masked identifiers always, streamed with openpyxl's write-only mode."""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils.translation import gettext as _
from openpyxl import Workbook

from fangkong.people.models import Person


def people_workbook(people: Iterable[Person]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("People"))
    sheet.append([_("Name"), _("Document"), _("Mobile"), _("Sex"), _("Date of birth"), _("Community"), _("Address")])
    for person in people:
        sheet.append(
            [
                person.name,
                person.masked_document,
                person.masked_phone,
                person.get_sex_display(),
                person.birth_date.isoformat() if person.birth_date else "",
                person.home_division.name,
                person.address,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
