"""Reconcile a mass-testing round: extract (extract.py) → the engine's coverage query → stored results.

`start_round_coverage(round, by=...)` queues the job `testing.round_coverage`; the job calls
`reconcile_round_coverage`, which is also what the benchmark and the demo call directly. A run reads the
round's inputs from its snapshot and the changes since (incremental.py), or all of them when there is no
trustworthy snapshot. It replaces the round's person lists in one transaction — by difference: the rows it no
longer lists are deleted, the new ones added — so a page never shows half of one run and half of another.
"""

from __future__ import annotations

import io
import time
import typing
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
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
from fangkong.testing.coverage import incremental
from fangkong.testing.coverage.models import (
    CommunityCoverage,
    CoverageCounts,
    CoverageSnapshot,
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
    cold: bool = False,
) -> Reconciliation:
    """Extract the round's inputs (from its snapshot and the changes since, or with ``cold`` or no trustworthy
    snapshot all of them), run the engine's query, store the counts and lists and leave the snapshot for the
    next run; timings on the run."""
    started = time.perf_counter()
    if cold:
        extraction = incremental.extract_round_cold(test_round)
    else:
        extraction = incremental.extract_round_incremental(test_round)
    data = extraction.data
    extracted = time.perf_counter()
    if progress is not None:
        progress(1, 3, _("Inputs extracted"))
    result = reconcile_round(data)
    computed = time.perf_counter()
    if progress is not None:
        progress(2, 3, _("Coverage computed"))
    run = store_reconciliation(test_round, result, by=by, job=job, snapshot=extraction.pending)
    stored = time.perf_counter()
    timings = {
        "extract": round(extracted - started, 3),
        "engine": round(computed - extracted, 3),
        "store": round(stored - computed, 3),
        "rows": {"residents": data.residents.num_rows, "samples": data.samples.num_rows},  # type: ignore[union-attr]
        "path": "cold" if extraction.changed_keys is None else "warm",
        "changed_keys": extraction.changed_keys,
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
    test_round: TestRound,
    result: RoundCoverage,
    *,
    by: User | None,
    job: Job | None = None,
    snapshot: incremental.PendingSnapshot | None = None,
) -> RoundCoverageRun:
    """Save a run: totals, hourly progress per county, counts per community, the two person lists, and the
    ``snapshot`` its inputs leave for the next run (files written beside the database work, the token recorded
    in the same transaction)."""
    with ThreadPoolExecutor(max_workers=1) as writer:
        files = writer.submit(incremental.write_snapshot_files, snapshot) if snapshot is not None else None
        return _store(test_round, result, by=by, job=job, files=files)


def _store(
    test_round: TestRound,
    result: RoundCoverage,
    *,
    by: User | None,
    job: Job | None,
    files: Future[incremental.WrittenSnapshot] | None,
) -> RoundCoverageRun:
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
        _replace_lists(
            run, {UncoveredKind.UNTESTED.value: result.untested, UncoveredKind.DOOR_TO_DOOR.value: result.door_to_door}
        )
        if files is not None:
            # one writer at a time per round: the row is locked until this run commits
            CoverageSnapshot.objects.get_or_create(round=test_round, defaults={"token": ""})
            CoverageSnapshot.objects.select_for_update().filter(round=test_round).update(
                token=incremental.publish_snapshot(files.result())
            )
        record(
            "testing.round_coverage",
            target=test_round,
            by=by,
            changes={"run": run.pk, **totals, "recall_people": run.recall_people, "recall_not_listed": len(not_listed)},
        )
    return run


def _replace_lists(run: RoundCoverageRun, lists: dict[str, pa.Table]) -> None:
    """Make the round's lists ``lists`` (kind → person_id, division code): delete the rows of people no longer
    listed (or listed in another community), add the newly listed; rows that stay are not touched."""
    current = _current_lists(run.round_id)
    stale: list[int] = []
    added: list[pa.Table] = []
    for kind, people in lists.items():
        paths, _ = _paths_of(people["division"])
        listed = pa.table({"person_id": people["person_id"], "division": people["division"], "path": paths})
        listed = listed.filter(pc.is_valid(paths))
        ids, persons, codes = current.get(kind, (np.empty(0, np.int64),) * 3)
        order = np.argsort(persons, kind="stable")
        ids, persons, codes = ids[order], persons[order], codes[order]
        new_persons = listed["person_id"].to_numpy()
        new_codes = listed["division"].to_numpy()
        at = np.minimum(np.searchsorted(persons, new_persons), max(len(persons) - 1, 0))
        same = (
            (persons[at] == new_persons) & (codes[at] == new_codes)
            if len(persons)
            else np.zeros(len(new_persons), dtype=bool)
        )
        kept = np.zeros(len(persons), dtype=bool)
        kept[at[same]] = True
        stale += ids[~kept].tolist()
        added.append(
            listed.filter(pa.array(~same)).append_column("kind", pa.array([kind] * int((~same).sum()), pa.string()))
        )
    _delete_rows(stale)
    _insert_rows(run, pa.concat_tables(added) if added else None)


def _current_lists(round_id: int) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """The round's listed rows per kind: (row ids, person ids, division codes)."""
    table = connection.ops.quote_name(UncoveredPerson._meta.db_table)
    rows: dict[str, list[tuple[int, int, int]]] = {}
    if connection.vendor == "postgresql":  # ~10^5 rows: packed by the server, one bytea per (kind, community)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT kind, CAST(division_path AS bigint),"  # noqa: S608 - table name from the model
                f" string_agg(int8send(id) || int8send(person_id), ''::bytea) FROM {table}"
                " WHERE round_id = %s GROUP BY kind, division_path",
                [round_id],
            )
            parts: dict[str, list[tuple[int, bytes]]] = {}
            for kind, code, data in cursor.fetchall():
                parts.setdefault(kind, []).append((code, bytes(data)))
        out = {}
        for kind, runs in parts.items():
            raw = np.frombuffer(b"".join(data for _, data in runs), dtype=np.dtype([("id", ">i8"), ("person", ">i8")]))
            codes = np.repeat(
                np.array([code for code, _ in runs], dtype=np.int64), [len(data) // 16 for _, data in runs]
            )
            out[kind] = (raw["id"].astype(np.int64), raw["person"].astype(np.int64), codes)
        return out
    for pk, person, path, kind in (
        UncoveredPerson.objects.filter(round_id=round_id)
        .order_by()
        .values_list("pk", "person_id", "division_id", "kind")
    ):
        rows.setdefault(kind, []).append((pk, person, int(path)))
    return {
        kind: tuple(np.array(column, dtype=np.int64) for column in zip(*values, strict=True))  # type: ignore[misc]
        for kind, values in rows.items()
    }


def _delete_rows(ids: list[int]) -> None:
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(UncoveredPerson._meta.db_table)} WHERE id = ANY(%s)",  # noqa: S608
                [ids],
            )
        return
    for start in range(0, len(ids), 500):
        UncoveredPerson.objects.filter(pk__in=ids[start : start + 500])._raw_delete(UncoveredPerson.objects.db)


def _insert_rows(run: RoundCoverageRun, people: pa.Table | None) -> None:
    """Add the rows of ``people`` (person_id, division code, path, kind) to the round's lists, listed by ``run``."""
    if people is None or people.num_rows == 0:
        return
    table = pa.table(
        {
            "round_id": pa.array([run.round_id] * people.num_rows, pa.int64()),
            "run_id": pa.array([run.pk] * people.num_rows, pa.int64()),
            "person_id": people["person_id"],
            "division_path": people["path"],
            "kind": people["kind"],
        }
    )
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        pa_csv.write_csv(table.combine_chunks(), buffer, write_options=pa_csv.WriteOptions(include_header=False))
        columns = ", ".join(
            connection.ops.quote_name(str(getattr(UncoveredPerson._meta.get_field(name), "column", name)))
            for name in ("round", "run", "person", "division", "kind")
        )
        with connection.cursor() as cursor:
            with cursor.copy(
                f"COPY {connection.ops.quote_name(UncoveredPerson._meta.db_table)} ({columns}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(buffer.getvalue())
        return
    rows = typing.cast(
        "list[tuple[int, str, str]]",
        list(zip(*(table[name].to_pylist() for name in ("person_id", "division_path", "kind")), strict=True)),
    )
    UncoveredPerson.objects.bulk_create(
        [
            UncoveredPerson(round_id=run.round_id, run=run, person_id=person, division_id=path, kind=kind)
            for person, path, kind in rows
        ],
        batch_size=5000,
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
    incremental.prune_change_log()  # what every live round's snapshot has seen (after the run's commit)
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
