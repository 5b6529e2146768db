"""The testing module's records in the permission matrix's world (see tests/test_permission_matrix.py): in
community A and in community B each, a mass-testing round, a site, a resulted positive tube with one sample,
its handover, a refused result import and the recall member, a sampling flag on the sample and an exemption of
the person. Plain rows: the matrix needs ids, not states."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fangkong.core.models import Organization, OrganizationKind
from fangkong.testing.coverage.models import CommunityCoverage, RoundCoverageRun, UncoveredPerson
from fangkong.testing.models import (
    Exemption,
    FlagKind,
    Handover,
    HandoverTube,
    ImportStatus,
    Recall,
    RecallMember,
    ResultImport,
    Retest,
    Sample,
    SamplingFlag,
    SamplingSite,
    TestRound,
    Tube,
    TubeResult,
    TubeStatus,
)

START = dt.datetime(2022, 4, 2, tzinfo=dt.UTC)


def world(tree: dict[str, Any], register: Any, hq: Any) -> dict[str, tuple[Any, Any]]:
    rounds = {
        where: TestRound.objects.create(
            division=tree[where], name=f"矩阵轮次{where}", starts_at=START, ends_at=START + dt.timedelta(days=1)
        )
        for where in "ab"
    }
    lab = Organization.objects.create(kind=OrganizationKind.LAB, division=tree["city"], name="矩阵实验室")
    ids: dict[str, list[int]] = {
        "tube_id": [],
        "handover_id": [],
        "result_import_id": [],
        "member_id": [],
        "flag_id": [],
        "exemption_id": [],
    }
    for n, where in enumerate("ab"):
        site = SamplingSite.objects.create(division=tree[where], name=f"矩阵采样点{where}")
        tube = Tube.objects.create(
            barcode=f"MATRIX{where.upper()}0001",
            round=rounds[where],
            site=site,
            division=tree[where],
            capacity=10,
            sample_count=1,
            status=TubeStatus.RESULTED,
            opened_at=START,
            lab=lab,
        )
        person = register(where, name=f"矩阵召回{where}", phone=f"1370000000{n}")
        sample = Sample.objects.create(
            person=person, tube=tube, round=rounds[where], site=site, division=tree[where], sampled_at=START
        )
        handover = Handover.objects.create(
            site=site, round=rounds[where], lab=lab, division=tree[where], tube_count=1, handed_over_at=START
        )
        HandoverTube.objects.create(handover=handover, tube=tube)
        result_import = ResultImport.objects.create(
            lab=lab, division=tree[where], status=ImportStatus.REFUSED, file_name=f"{where}.csv"
        )
        result = TubeResult.objects.create(
            tube=tube, lab=lab, division=tree[where], result="positive", resulted_at=START
        )
        recall = Recall.objects.create(
            tube=tube, tube_result=result, round=rounds[where], division=tree[where], created_at=START
        )
        member = RecallMember.objects.create(recall=recall, person=person, sample=sample, division=tree[where])
        ids["tube_id"].append(tube.pk)
        ids["handover_id"].append(handover.pk)
        ids["result_import_id"].append(result_import.pk)
        ids["member_id"].append(member.pk)
        flag = SamplingFlag.objects.create(
            sample=sample, person=person, round=rounds[where], division=tree[where], kind=FlagKind.REGISTERED_ON_SPOT
        )
        ids["flag_id"].append(flag.pk)
        exemption = Exemption.objects.create(
            person=person, round=rounds[where], division=tree[where], reason="bedridden", note="矩阵"
        )
        ids["exemption_id"].append(exemption.pk)
    return {"round_id": (rounds["a"].pk, rounds["b"].pk), **{key: (a, b) for key, (a, b) in ids.items()}}


def snapshot() -> tuple[Any, ...]:
    return (
        tuple(TestRound.objects.order_by("pk").values_list("name", "status", "division_id")),
        RoundCoverageRun.objects.count(),
        tuple(Tube.objects.order_by("pk").values_list("barcode", "status", "sample_count")),
        Sample.objects.count(),
        tuple(SamplingFlag.objects.order_by("pk").values_list("status", "decision", "note")),
        tuple(Exemption.objects.order_by("pk").values_list("person_id", "round_id", "reason", "note")),
        tuple(Handover.objects.order_by("pk").values_list("status", flat=True)),
        tuple(HandoverTube.objects.order_by("pk").values_list("status", flat=True)),
        tuple(RecallMember.objects.order_by("pk").values_list("status", flat=True)),
        Retest.objects.count(),
        ResultImport.objects.count(),
        TubeResult.objects.count(),
        CommunityCoverage.objects.count(),
        UncoveredPerson.objects.count(),
    )
