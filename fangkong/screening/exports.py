"""The "nobody missed" report as a spreadsheet: the counts per division, then every name (masked)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from fangkong.screening.models import LoopState, PoolEntry
from fangkong.screening.selectors import ReportRow

COLUMN_TITLES = ("listed", "located", "tested", "quarantined", "overdue", "unlocated", "closed")


def report_workbook(rows: Sequence[ReportRow], entries: Iterable[PoolEntry]) -> bytes:
    book = Workbook(write_only=True)
    summary = book.create_sheet(_("Summary"))
    summary.append([_("Division"), _("Code"), *[_(c) for c in COLUMN_TITLES]])
    for row in rows:
        summary.append([row.division.name, row.division.code, *[row.counts[c] for c in COLUMN_TITLES]])
    names = book.create_sheet(_("Names"))
    names.append([_("Name"), _("Document"), _("Mobile"), _("Responsible"), _("State"), _("Listed"), _("Locate by")])
    zone = timezone.get_current_timezone()
    for entry in entries:
        names.append(
            [
                entry.person.name,
                entry.person.masked_document,
                entry.person.masked_phone,
                entry.division.name,
                str(LoopState(entry.state).label),
                entry.listed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                entry.locate_due.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
