"""Incremental extraction of a round's inputs: the warm path of `services.reconcile_round_coverage`.

A round is reconciled hourly while it runs, and between two runs its two big inputs — the residents of its
area (person, home community) and its samples (person, time) — change in a few per cent of their rows. So
each run leaves them in a **snapshot** on the analytic side, and the next run reads only what changed:

1. In one transaction (REPEATABLE READ on PostgreSQL): check the snapshot's token against the round's
   `CoverageSnapshot` row, read the keys the change log (`CoverageChange`, filled by database triggers) holds
   beyond the snapshot's watermark, the current rows of those keys, the small inputs, and the new watermark.
2. Merge: the snapshot's rows minus every changed key, plus the changed keys' current rows.
3. The engine's query on the merged inputs, as on a cold run; the store writes the new snapshot's token in
   the run's own transaction.

It is exact: a change is logged by the database in the writer's own transaction (every writer: services,
imports, the admin), a key's rows are read again whole, and the watermark is the extraction's snapshot, so a
change that commits later than a newer one is still read (`extract.Watermark`). Whenever the snapshot is
missing, unreadable, for another round or area, or its token is not the database's, the run extracts
everything (`extract.extract_round_with_watermark`) and writes a new snapshot: a database restored from a
backup, a failed run or a rebuilt benchmark database all end there.

Files, under ``settings.COVERAGE_SNAPSHOT_DIR/round-<id>/``: ``manifest.json`` (token, round, area, watermark,
file names, replaced atomically) and Arrow IPC files — a **base** per input (written by a cold run, or when
the changes pile up past ``COMPACT_SHARE`` of it) and a **delta** per input holding every key changed since
the base with its current row (a null value: the key has no row now). Arrow IPC, uncompressed and
memory-mapped, because a run reads the snapshot whole: ~10 ms for 20 M rows, where Parquet took ~1.5 s.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import typing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
from django.conf import settings
from django.db import connection, transaction

from fangkong.engine.coverage import INPUT_SCHEMAS, RoundData
from fangkong.testing.coverage import extract
from fangkong.testing.coverage.changes import current_residents, current_samples, read_changes
from fangkong.testing.coverage.extract import Watermark
from fangkong.testing.coverage.models import CoverageChange, CoverageLogHorizon, CoverageSnapshot
from fangkong.testing.models import RoundStatus, TestRound

FORMAT = 1
BIG_INPUTS = ("residents", "samples")
VALUE = {"residents": "division", "samples": "sampled_at"}  # each big input is (person_id, value), one per person
COMPACT_SHARE = 0.05  # the deltas are folded into a new base when they hold this share of the base's rows
BITMAP_LIMIT = 1 << 31  # person ids below this: a changed-key bitmap (ids are dense), else a hash lookup
ENGINE_BATCH_ROWS = 1 << 20  # DuckDB scans an Arrow table one record batch per thread: 10 M rows in one is serial


@dataclass(frozen=True)
class Snapshot:
    """A round's snapshot as read from disk: the base and delta of each big input, and what it has seen."""

    directory: Path
    token: str
    watermark: Watermark
    base: dict[str, pa.Table]
    delta: dict[str, pa.Table]
    files: dict[str, str]  # role ("base-residents", …) → file name


@dataclass(frozen=True)
class Extraction:
    """A run's inputs and the snapshot to leave for the next run (written by the store, in its transaction)."""

    data: RoundData
    pending: PendingSnapshot
    changed_keys: int | None  # None: a cold extraction (everything read)


@dataclass
class PendingSnapshot:
    """The snapshot a run leaves: ``base`` is None when the previous base stays (only deltas change)."""

    round_id: int
    area: str
    watermark: Watermark
    delta: dict[str, pa.Table]
    base: dict[str, pa.Table] | None
    kept_files: dict[str, str] = field(default_factory=dict)  # the previous base, when it stays


def snapshot_directory(test_round: TestRound) -> Path:
    return _round_directory(test_round.pk)


def _round_directory(round_id: int) -> Path:
    return Path(settings.COVERAGE_SNAPSHOT_DIR) / f"round-{round_id}"


def extract_round_incremental(test_round: TestRound, *, workers: int = 2) -> Extraction:
    """The round's inputs from its snapshot and the changes since; cold when the snapshot is missing or doubtful."""
    snapshot = load_snapshot(test_round)
    if snapshot is not None:
        warm = _extract_changes(test_round, snapshot)
        if warm is not None:
            return warm
    return extract_round_cold(test_round, workers=workers)


def extract_round_cold(test_round: TestRound, *, workers: int = 2) -> Extraction:
    data, watermark = extract.extract_round_with_watermark(test_round, workers=workers)
    base = {name: getattr(data, name) for name in BIG_INPUTS}
    return Extraction(
        data=dataclasses.replace(data, **{name: batched(table) for name, table in base.items()}),
        pending=PendingSnapshot(
            round_id=test_round.pk,
            area=test_round.division_id,
            watermark=watermark,
            delta={name: _empty_delta(name) for name in BIG_INPUTS},
            base=base,
        ),
        changed_keys=None,
    )


def load_snapshot(test_round: TestRound) -> Snapshot | None:
    """The round's snapshot files, memory-mapped; None when missing, unreadable or not this round's area."""
    directory = snapshot_directory(test_round)
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        watermark = _watermark_of(manifest)
        if (
            manifest["format"] != FORMAT
            or manifest["round"] != test_round.pk
            or manifest["area"] != test_round.division_id
        ):
            return None
        files: dict[str, str] = manifest["files"]
        tables = {role: feather.read_table(directory / name, memory_map=True) for role, name in files.items()}
        base = {name: tables[f"base-{name}"] for name in BIG_INPUTS}
        delta = {name: tables[f"delta-{name}"] for name in BIG_INPUTS}
        for name in BIG_INPUTS:
            if base[name].schema != INPUT_SCHEMAS[name] or delta[name].schema != INPUT_SCHEMAS[name]:
                return None
        return Snapshot(directory, str(manifest["token"]), watermark, base, delta, files)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None


def _extract_changes(test_round: TestRound, snapshot: Snapshot) -> Extraction | None:
    own_transaction = not connection.in_atomic_block  # else a caller's (a test's): its isolation stays
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if own_transaction:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                # as the cold extraction's connections: the keys' rows are read by index (10^5 keys in an array
                # were planned as a scan of the whole table at the default page cost), no JIT compilation
                cursor.execute("SET LOCAL random_page_cost = 1.1")
                cursor.execute("SET LOCAL jit = off")
        if not CoverageSnapshot.objects.filter(round=test_round, token=snapshot.token).exists():
            return None  # not the snapshot this database last recorded for the round
        watermark = extract.read_watermark()
        if watermark.change_id < snapshot.watermark.change_id:
            return None  # the snapshot has seen changes this database does not have
        if _pruned_past(snapshot.watermark):
            return None  # the log no longer holds every change since this snapshot
        changes = read_changes(test_round, snapshot.watermark)
        fresh = {
            "residents": current_residents(test_round, changes),
            "samples": current_samples(test_round, changes),
        }
        small = extract.small_inputs(test_round)
    delta = {name: _merge_delta(snapshot.delta[name], fresh[name]) for name in BIG_INPUTS}
    with ThreadPoolExecutor(max_workers=len(BIG_INPUTS)) as pool:  # numpy copies without the GIL: both cores
        merged = dict(
            zip(
                BIG_INPUTS,
                pool.map(lambda n: apply_delta(snapshot.base[n], delta[n], VALUE[n]), BIG_INPUTS),
                strict=True,
            )
        )
    base_rows = sum(snapshot.base[name].num_rows for name in BIG_INPUTS)
    compact = sum(delta[name].num_rows for name in BIG_INPUTS) > COMPACT_SHARE * max(base_rows, 1)
    pending = PendingSnapshot(
        round_id=test_round.pk,
        area=test_round.division_id,
        watermark=watermark,
        delta={name: _empty_delta(name) for name in BIG_INPUTS} if compact else delta,
        base=merged if compact else None,
        kept_files={} if compact else {f"base-{name}": snapshot.files[f"base-{name}"] for name in BIG_INPUTS},
    )
    return Extraction(
        data=RoundData(**{name: batched(table) for name, table in merged.items()}, **small),
        pending=pending,
        changed_keys=len(changes.people) + len(changes.sampled),
    )


def batched(table: pa.Table) -> pa.Table:
    """``table`` in record batches of ``ENGINE_BATCH_ROWS`` (slices, no copy), which DuckDB scans in parallel."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=ENGINE_BATCH_ROWS), schema=table.schema)


# The change log


def _pruned_past(seen: Watermark) -> bool:
    """Whether `prune_change_log` may have deleted a row that a snapshot which saw ``seen`` still needs."""
    horizon = CoverageLogHorizon.objects.filter(pk=1).values_list("change_id", "xact").first()
    if horizon is None:
        return False
    change_id, xact = horizon
    return change_id > seen.change_id or (connection.vendor == "postgresql" and xact > seen.pg_xmin)


def _watermark_of(manifest: dict[str, Any]) -> Watermark:
    return Watermark(int(manifest["watermark"]["change_id"]), manifest["watermark"]["pg_snapshot"])


def _manifest_watermark(round_id: int) -> Watermark | None:
    """The watermark of the round's snapshot on disk (whether or not the database trusts it), or None."""
    try:
        return _watermark_of(json.loads((_round_directory(round_id) / "manifest.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prune_change_log() -> int:
    """Delete the change-log rows that the snapshot of every round still sampling (planned or open) has already
    seen, and return how many. The log grows by a row per sample — ~10^7 per city-wide round — and a warm run
    only reads beyond its snapshot's watermark. The horizon recorded here guards the rest: a snapshot that saw
    less than what was pruned (a closed round reopened, a first run that published after this read the
    snapshots) is not trusted and its next run extracts everything — at worst slower, never wrong."""
    live = TestRound.objects.exclude(status=RoundStatus.CLOSED).values_list("pk", flat=True)
    marks = [mark for mark in (_manifest_watermark(round_id) for round_id in live) if mark is not None]
    if not marks:
        return 0
    change_id = min(mark.change_id for mark in marks)
    postgresql = connection.vendor == "postgresql"
    xact = min(mark.pg_xmin for mark in marks) if postgresql else 0
    log = connection.ops.quote_name(CoverageChange._meta.db_table)
    with transaction.atomic():
        horizon, _created = CoverageLogHorizon.objects.select_for_update().get_or_create(pk=1)
        with connection.cursor() as cursor:
            # rows every snapshot saw: below its id (strictly: the newest row a snapshot saw stays, so the log's
            # highest id never falls below a watermark) and, on PostgreSQL, written by a transaction ended before it
            if postgresql:
                cursor.execute(f"DELETE FROM {log} WHERE id < %s AND xact < %s", [change_id, xact])  # noqa: S608
            else:
                cursor.execute(f"DELETE FROM {log} WHERE id < %s", [change_id])  # noqa: S608
            deleted = cursor.rowcount
        horizon.change_id = max(horizon.change_id, change_id)
        horizon.xact = max(horizon.xact, xact)
        horizon.save()
    return int(deleted)


# Merging


def _empty_delta(name: str) -> pa.Table:
    return INPUT_SCHEMAS[name].empty_table()


def _merge_delta(delta: pa.Table, fresh: pa.Table) -> pa.Table:
    """The cumulative delta: the previous one's keys not read again, and the keys just read."""
    if fresh.num_rows == 0:
        return delta
    kept = delta.filter(pc.invert(pc.is_in(delta["person_id"], value_set=fresh["person_id"])))
    return pa.concat_tables([kept, fresh.cast(delta.schema)]).combine_chunks()


def apply_delta(base: pa.Table, delta: pa.Table, value: str) -> pa.Table:
    """``base`` without the delta's keys, plus the delta's rows that exist (a non-null ``value``)."""
    if delta.num_rows == 0:
        return base
    ids = _int64s(base["person_id"])
    keys = _int64s(delta["person_id"])
    top = int(max(ids.max(initial=0), keys.max(initial=0))) + 1
    if 0 <= int(min(ids.min(initial=0), keys.min(initial=0))) and top <= BITMAP_LIMIT:
        changed = np.zeros(top, dtype=bool)
        changed[keys] = True
        keep = ~changed[ids]
    else:
        keep = ~pc.is_in(pa.array(ids), value_set=pa.array(keys)).to_numpy(zero_copy_only=False)
    if keep.all():  # no key of the base changed (a running round's new samples): the base as it is, no copy
        kept = base
    else:
        columns = {
            name: pa.array(_int64s(base[name])[keep], pa.int64()).view(base.schema.field(name).type)
            for name in base.column_names
        }
        kept = pa.table(columns, schema=base.schema)
    present = delta.filter(pc.is_valid(delta[value])).cast(base.schema)
    return pa.concat_tables([kept, present])


def _int64s(column: pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """A column of int64 or timestamps (no nulls) as int64 numbers, without a copy when it is one chunk."""
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64)
    array = column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks)
    return typing.cast("pa.Array", array).view(pa.int64()).to_numpy(zero_copy_only=False)


# Writing (by the store, inside the run's transaction)


@dataclass(frozen=True)
class WrittenSnapshot:
    """Snapshot files written under ``token``, not yet published (no manifest names them)."""

    pending: PendingSnapshot
    token: str
    files: dict[str, str]


def write_snapshot_files(pending: PendingSnapshot) -> WrittenSnapshot:
    """Write ``pending``'s new files under a new token (a cold run's base: ~300 MB, written while the store
    works in the database); nothing reads them until :func:`publish_snapshot`."""
    directory = _round_directory(pending.round_id)
    directory.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    files = dict(pending.kept_files)
    tables: dict[str, pa.Table] = {f"delta-{name}": pending.delta[name] for name in BIG_INPUTS}
    if pending.base is not None:
        tables.update({f"base-{name}": pending.base[name] for name in BIG_INPUTS})
    for role, table in tables.items():
        name = f"{token}-{role}.arrow"
        # one record batch: the reader then gets each column as one array, in place (no concatenation)
        feather.write_feather(
            table.combine_chunks(), str(directory / name), compression="uncompressed", chunksize=max(table.num_rows, 1)
        )
        files[role] = name
    return WrittenSnapshot(pending, token, files)


def publish_snapshot(written: WrittenSnapshot) -> str:
    """Make ``written`` the round's snapshot on disk (its manifest replaces the old one atomically) and remove the
    files no longer named; return the token, which the caller records in the round's `CoverageSnapshot` row in
    the run's transaction — until that commits, the new files do not match the database and are not trusted."""
    pending = written.pending
    directory = _round_directory(pending.round_id)
    manifest = {
        "format": FORMAT,
        "token": written.token,
        "round": pending.round_id,
        "area": pending.area,
        "watermark": {"change_id": pending.watermark.change_id, "pg_snapshot": pending.watermark.pg_snapshot},
        "files": written.files,
    }
    temporary = directory / f"manifest.{written.token}.json"
    temporary.write_text(json.dumps(manifest))
    os.replace(temporary, directory / "manifest.json")
    for path in directory.iterdir():
        if path.name != "manifest.json" and path.name not in written.files.values():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return written.token
