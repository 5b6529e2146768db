"""Background and periodic entrypoints for tracing; each runs one service and is safe to run twice."""

from __future__ import annotations

from fangkong.core.schedule import every
from fangkong.tracing.services import escalate_overdue_clocks

every(60, "tracing.escalate_overdue_clocks")(escalate_overdue_clocks)
