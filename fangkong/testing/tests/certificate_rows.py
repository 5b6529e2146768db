"""Plain rows for the certificate and results tests: a round, a site, a lab, tubes with samples and results.

Plain rows (not the sampling services) so that these tests state exactly the tube/result combination they
need; the sampling services have their own tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from fangkong.core.models import Organization, OrganizationKind
from fangkong.testing.models import (
    Recall,
    RecallMember,
    ResultValue,
    Sample,
    SamplePurpose,
    SamplingSite,
    TestRound,
    Tube,
    TubeResult,
    TubeStatus,
)

_barcodes = count(1)


def lab(tree: dict[str, Any], name: str = "示范市第一检测实验室") -> Organization:
    return Organization.objects.get_or_create(kind=OrganizationKind.LAB, division=tree["city"], name=name)[0]


def mass_round(tree: dict[str, Any], *, starts_at: datetime, pool_size: int = 10) -> TestRound:
    return TestRound.objects.create(
        division=tree["county"],
        name=f"第{next(_barcodes)}轮全员核酸",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=24),
        pool_size=pool_size,
        status="open",
    )


def site(tree: dict[str, Any], where: str = "a") -> SamplingSite:
    return SamplingSite.objects.get_or_create(division=tree[where], name="社区广场采样点")[0]


def sample(
    person: Any,
    *,
    tree: dict[str, Any],
    sampled_at: datetime,
    result: str | None = ResultValue.NEGATIVE,
    capacity: int = 10,
    round_: TestRound | None = None,
    resulted_after: timedelta = timedelta(hours=8),
    purpose: str = SamplePurpose.ROUND,
) -> Sample:
    """One person's swab in a tube of `capacity`, with the tube's result (None: not back yet)."""
    round_ = round_ or mass_round(tree, starts_at=sampled_at - timedelta(hours=1))
    where = site(tree)
    laboratory = lab(tree)
    tube = Tube.objects.create(
        barcode=f"T{next(_barcodes):010d}",
        round=round_,
        site=where,
        division=where.division,
        capacity=capacity,
        sample_count=1,
        is_retest=purpose == SamplePurpose.RETEST,
        status=TubeStatus.RESULTED if result else TubeStatus.CLOSED,
        opened_at=sampled_at,
        received_at=sampled_at + resulted_after / 2 if result else None,
        resulted_at=sampled_at + resulted_after if result else None,
        lab=laboratory,
    )
    swab = Sample.objects.create(
        person=person,
        tube=tube,
        round=round_,
        site=where,
        division=where.division,
        purpose=purpose,
        sampled_at=sampled_at,
    )
    if result:
        outcome = TubeResult.objects.create(
            tube=tube, lab=laboratory, division=where.division, result=result, resulted_at=sampled_at + resulted_after
        )
        if result == ResultValue.POSITIVE and capacity > 1:
            recall = Recall.objects.create(
                tube=tube, tube_result=outcome, round=round_, division=where.division, created_at=outcome.resulted_at
            )
            RecallMember.objects.create(recall=recall, person=person, sample=swab, division=person.home_division)
    return swab
