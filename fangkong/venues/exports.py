"""Check-ins as Parquet in the engine's schema (docs/data-schemas.md, "checkins"), for the city-scale overlap
question (`engine.venues.find_venue_overlaps`): person_id (the registry's id), venue_id, checkin_time (UTC),
minutes (the stay until `ends_at`, rounded up to whole minutes so an overlap is never lost). Streamed in
batches: memory holds one batch, not the table. No identities leave in the file: ids only.
"""

from __future__ import annotations

import math
import os
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.venues.models import CheckIn

SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("venue_id", pa.int64()),
        ("checkin_time", pa.timestamp("us", tz="UTC")),
        ("minutes", pa.int32()),
    ]
)
BATCH = 50_000


def write_check_ins_parquet(
    path: str | os.PathLike[str], *, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Write the check-ins that start in [since, until) (all by default) to `path`; return the row count."""
    rows = CheckIn.objects.order_by("pk")
    if since is not None:
        rows = rows.filter(checked_in_at__gte=since)
    if until is not None:
        rows = rows.filter(checked_in_at__lt=until)
    written = 0
    last = 0
    with pq.ParquetWriter(os.fspath(path), SCHEMA, compression="zstd") as writer:
        while True:
            batch = list(
                rows.filter(pk__gt=last).values_list("pk", "person_id", "venue_id", "checked_in_at", "ends_at")[:BATCH]
            )
            if not batch:
                break
            last = batch[-1][0]
            writer.write_table(
                pa.table(
                    {
                        "person_id": [row[1] for row in batch],
                        "venue_id": [row[2] for row in batch],
                        "checkin_time": [row[3] for row in batch],
                        "minutes": [max(1, math.ceil((row[4] - row[3]).total_seconds() / 60)) for row in batch],
                    },
                    schema=SCHEMA,
                )
            )
            written += len(batch)
    return written
