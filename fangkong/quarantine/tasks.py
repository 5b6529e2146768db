"""Periodic entrypoints for quarantine care; each calls one service and is safe to run twice (idempotency keys,
conditional updates)."""

from __future__ import annotations

from fangkong.core.schedule import every
from fangkong.quarantine.services.monitoring import send_check_in_links
from fangkong.quarantine.services.scheduled_tests import mark_missed_tests

# Check-in links go out within five minutes of each check-in time (one per placement, day and slot).
every(300, "quarantine.send_check_in_links")(send_check_in_links)
# Tests not done by the end of their day become overdue items.
every(900, "quarantine.mark_missed_tests")(mark_missed_tests)
