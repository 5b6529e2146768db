"""Reconcile a mass-testing round: extract (extract.py) → the engine's coverage query → stored results.

`start_round_coverage(round, by=...)` queues the job `testing.round_coverage`; the job calls
`reconcile_round_coverage`, which is also what the benchmark and the demo call directly. A run replaces the
round's previous person lists in one transaction, so a page never shows half of one run and half of another.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import record
from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.jobs import JobContext, job_handler, start_job
from fangkong.core.models import Division, Job, User
from fangkong.core.roles import Capability
from fangkong.engine.coverage import RoundCoverage, reconcile_round
from fangkong.testing.coverage.extract import extract_round
from fangkong.testing.coverage.models import (
    CommunityCoverage,
    CoverageCounts,
    RoundCoverageRun,
    UncoveredKind,
    UncoveredPerson,
)
from fangkong.testing.models import RecallMember, TestRound

COVERAGE_JOB = "testing.round_coverage"
COUNT_FIELDS = CoverageCounts.COUNT_FIELDS


@dataclass(frozen=True)
class Reconciliation:
    run: RoundCoverageRun
    result: RoundCoverage


def start_round_coverage(test_round: TestRound, *, by: User) -> Job:
    """Queue a reconciliation of the round (managers of the round's area or above it)."""
    if not by.can(Capability.TESTING_MANAGE):
        raise PermissionDeniedError()
    return start_job(COVERAGE_JOB, params={"round": test_round.pk}, by=by, division_path=by.division_id)


def reconcile_round_coverage(
    test_round: TestRound,
    *,
    by: User | None,
    job: Job | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Reconciliation:
    """Extract the round's inputs, run the engine's query, store the counts and lists; timings on the run."""
    started = time.perf_counter()
    data = extract_round(test_round)
    extracted = time.perf_counter()
    if progress is not None:
        progress(1, 3, _("Inputs extracted"))
    result = reconcile_round(data)
    computed = time.perf_counter()
    if progress is not None:
        progress(2, 3, _("Coverage computed"))
    run = store_reconciliation(test_round, result, by=by, job=job)
    stored = time.perf_counter()
    timings = {
        "extract": round(extracted - started, 3),
        "engine": round(computed - extracted, 3),
        "store": round(stored - computed, 3),
        "rows": {"residents": data.residents.num_rows, "samples": data.samples.num_rows},  # type: ignore[union-attr]
    }
    RoundCoverageRun.objects.filter(pk=run.pk).update(timings=timings)
    run.timings = timings
    return Reconciliation(run=run, result=result)


def _paths_of(codes: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, dict[int, str]]:
    """Division codes back to paths (a code is the integer of a numeric path)."""
    distinct = [code for code in pc.unique(codes).to_pylist() if code is not None]
    known = {int(path): path for path in Division.objects.values_list("path", flat=True) if path.isdigit()}
    mapping = {code: known[code] for code in distinct if code in known}
    keys = pa.array(list(mapping), pa.int64())
    values = pa.array(list(mapping.values()), pa.string())
    return pc.take(values, pc.index_in(codes, value_set=keys)), mapping


def store_reconciliation(
    test_round: TestRound, result: RoundCoverage, *, by: User | None, job: Job | None = None
) -> RoundCoverageRun:
    """Save a run: totals, hourly progress per county, counts per community, and the two person lists."""
    counts = result.coverage.to_pylist()
    totals = {field: sum(row[field] for row in counts) for field in COUNT_FIELDS}
    _, division_paths = _paths_of(result.coverage["division"])
    county_codes = pc.unique(result.hourly["county"]).to_pylist()
    county_paths = {code: path for code, path in _paths_of(pa.array(county_codes, pa.int64()))[1].items()}
    hourly: dict[str, list[list[Any]]] = {}
    for row in result.hourly.to_pylist():
        hourly.setdefault(county_paths.get(row["county"], str(row["county"])), []).append(
            [row["hour"].isoformat(), row["tested"]]
        )
    listed = set(RecallMember.objects.filter(recall__round=test_round).values_list("recall__tube_id", "person_id"))
    not_listed = [
        {"tube": row["tube_id"], "person": row["person_id"]}
        for row in result.recall.to_pylist()
        if (row["tube_id"], row["person_id"]) not in listed
    ]
    with transaction.atomic():
        previous = list(RoundCoverageRun.objects.filter(round=test_round).values_list("pk", flat=True))
        UncoveredPerson.objects.filter(run_id__in=previous).delete()
        run = RoundCoverageRun.objects.create(
            round=test_round,
            division_id=test_round.division_id,
            job=job,
            computed_at=timezone.now(),
            recall_people=result.recall.num_rows,
            recall_not_listed=not_listed[:1000],
            hourly=hourly,
            **totals,
        )
        CommunityCoverage.objects.bulk_create(
            [
                CommunityCoverage(
                    run=run, division_id=division_paths[row["division"]], **{f: row[f] for f in COUNT_FIELDS}
                )
                for row in counts
                if row["division"] in division_paths
            ],
            batch_size=2000,
        )
        for kind, table in (
            (UncoveredKind.UNTESTED, result.untested),
            (UncoveredKind.DOOR_TO_DOOR, result.door_to_door),
        ):
            _store_people(run, kind, table)
        record(
            "testing.round_coverage",
            target=test_round,
            by=by,
            changes={"run": run.pk, **totals, "recall_people": run.recall_people, "recall_not_listed": len(not_listed)},
        )
    return run


def _store_people(run: RoundCoverageRun, kind: str, people: pa.Table) -> None:
    if people.num_rows == 0:
        return
    paths, _ = _paths_of(people["division"])
    table = pa.table(
        {
            "run_id": pa.array([run.pk] * people.num_rows, pa.int64()),
            "person_id": people["person_id"],
            "division_path": paths,
            "kind": pa.array([kind] * people.num_rows, pa.string()),
        }
    ).filter(pc.is_valid(paths))
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, write_options=pa_csv.WriteOptions(include_header=False))
        columns = ", ".join(
            connection.ops.quote_name(str(getattr(UncoveredPerson._meta.get_field(name), "column", name)))
            for name in ("run", "person", "division", "kind")
        )
        with connection.cursor() as cursor:
            with cursor.copy(
                f"COPY {connection.ops.quote_name(UncoveredPerson._meta.db_table)} ({columns}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(buffer.getvalue())
        return
    for batch in table.to_batches(max_chunksize=5000):
        UncoveredPerson.objects.bulk_create(
            [
                UncoveredPerson(run=run, person_id=person, division_id=path, kind=kind)
                for person, path in zip(batch.column(1).to_pylist(), batch.column(2).to_pylist(), strict=True)
                if person is not None and path is not None
            ]
        )


@job_handler(COVERAGE_JOB, queue="analytics")
def round_coverage_job(context: JobContext) -> dict[str, Any]:
    test_round = TestRound.objects.filter(pk=context.job.params["round"]).first()
    if test_round is None:
        raise DomainError(_("The round no longer exists."), field="round")
    creator = User.objects.filter(pk=context.job.created_by_id).first() if context.job.created_by_id else None
    done = reconcile_round_coverage(
        test_round, by=creator, job=context.job, progress=lambda d, t, m: context.progress(d, t, m)
    )
    run = done.run
    return {
        "run": run.pk,
        "residents": run.residents,
        "tested": run.tested,
        "untested": run.untested,
        "door_to_door": run.door_to_door,
        "recall_people": run.recall_people,
        "timings": run.timings,
    }
