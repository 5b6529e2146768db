"""The testing module's records in the permission matrix's world (see tests/test_permission_matrix.py): a
mass-testing round in community A and one in community B. Other testing pages add their records here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fangkong.testing.coverage.models import CommunityCoverage, RoundCoverageRun, UncoveredPerson
from fangkong.testing.models import TestRound

START = dt.datetime(2022, 4, 2, tzinfo=dt.UTC)


def world(tree: dict[str, Any], register: Any, hq: Any) -> dict[str, tuple[Any, Any]]:
    rounds = {
        where: TestRound.objects.create(
            division=tree[where], name=f"矩阵轮次{where}", starts_at=START, ends_at=START + dt.timedelta(days=1)
        )
        for where in "ab"
    }
    return {"round_id": (rounds["a"].pk, rounds["b"].pk)}


def snapshot() -> tuple[Any, ...]:
    return (
        tuple(TestRound.objects.order_by("pk").values_list("name", "status", "division_id")),
        RoundCoverageRun.objects.count(),
        CommunityCoverage.objects.count(),
        UncoveredPerson.objects.count(),
    )
