"""The spatio-temporal companion (时空伴随) query, defined once for every backend.

The query is a short list of named SQL steps. A backend runs them in order: every step but the last is
materialised under its name (a temporary table in DuckDB, a cached temporary view in Spark) and the last one
is returned as Arrow. The SQL text comes from one function, :func:`companion_steps`, for both engines; the
only differences are rendered by :class:`~fangkong.engine.dialect.Dialect`.

Inputs every backend provides under fixed names:

``pings``  (phone BIGINT, cell BIGINT, ts TIMESTAMP WITH TIME ZONE) — the Parquet data set, never copied.
``cases``  (phone BIGINT, start_us BIGINT, end_us BIGINT) — one row per case phone: the case's window.

Definitions (docs/engine.md explains each choice):

* The look-back window is ``[window_start, as_of]``, both ends included; pings outside it are ignored.
* A *stay* of a phone in a cell is a maximal run of that phone's pings *in that cell*, in time order, where
  consecutive pings are at most ``max_gap`` apart; it lasts from its first ping to its last. A gap longer
  than ``max_gap`` ends the stay. Sessionising per (phone, cell) means a brief hop to a neighbouring cell
  (base-station ping-pong) does not end a stay, and — why the query can be fast — a phone's stays in a
  cell depend only on its pings in that cell, so pings outside the cases' cells can be dropped *before*
  sessionising without changing any result.
* Case stays are the case phone's stays clipped to the case's window ``[start, end]``.
* A companion stay and a case stay in the same cell overlap by ``min(ends) - max(starts)`` when positive.
  A pair (companion phone, case phone) is a companion when its overlaps total at least ``min_overlap``.
  Case phones are never companions.
* Optional dwell rule (the Chengdu protocol): only cells where the case or the companion stayed more than
  ``min_dwell`` in total within the look-back window count towards the total.

Pruning that keeps the result exact: companion pings are read only in the cells of case stays, and only in
the time buckets (``BUCKET_US`` wide) that meet ``[case stay start - max_gap, case stay end + max_gap]`` for
some case stay in that cell. Why this is exact: an overlap is the union of the segments between consecutive
pings of the companion (at most ``max_gap`` apart) that meet a case stay ``C``; both ends of such a segment
lie within ``max_gap`` of ``C``, so they are kept, and every ping between two kept pings that meet ``C`` is
kept too. A dropped ping lies outside every widened case stay, so dropping it can split a companion stay only
between two different case stays' overlaps, never inside one, and never joins two stays. The evidence
therefore reports overlap intervals, not the companion's full stay (which may extend beyond the buckets).
With the dwell rule every bucket of the window is kept, because dwell totals need every stay in the cell.
"""

# ruff: noqa: S608 - the SQL is assembled from integers and Dialect-rendered literals only, never from input text
from __future__ import annotations

from dataclasses import dataclass

from fangkong.engine.dialect import Dialect

BUCKET_US = 15 * 60 * 1_000_000
"""Width of the time buckets that pre-filter companion pings; any width keeps results exact, this one is fast."""


@dataclass(frozen=True)
class Step:
    """One named statement; the backend materialises it under ``name`` unless it is the last."""

    name: str
    sql: str


@dataclass(frozen=True)
class CompanionBounds:
    """The integer parameters of one run (microseconds since the epoch, or durations in microseconds)."""

    window_start_us: int
    window_end_us: int
    max_gap_us: int
    min_overlap_us: int
    min_dwell_us: int | None


def stays_sql(source: str, max_gap_us: int, dialect: Dialect) -> str:
    """Sessionise ``source`` (phone, cell, t) into stays (phone, cell, s, e): the one definition of a stay.

    A ping starts a new stay unless the previous ping of the same phone in the same cell is at most
    ``max_gap`` earlier. Equal timestamps give a zero gap and merge, so duplicate pings never change the
    result. Each (phone, cell) becomes one sorted list, cut where a gap exceeds the limit (see
    :mod:`~fangkong.engine.dialect` for why not window functions).
    """
    return f"""
        SELECT phone, cell, {dialect.runs("l", "k")}
        FROM (
            SELECT phone, cell, l, {dialect.breaks("l", max_gap_us)} AS k
            FROM (
                SELECT phone, cell, {dialect.sorted_list("t")} AS l
                FROM {source}
                GROUP BY phone, cell
            ) AS grouped
        ) AS cut
    """


def companion_steps(dialect: Dialect, bounds: CompanionBounds) -> list[Step]:
    """The companion query as named steps, rendered for ``dialect``."""
    d = dialect
    b = bounds
    in_window = f"ts >= {d.timestamp(b.window_start_us)} AND ts <= {d.timestamp(b.window_end_us)}"
    gap = str(b.max_gap_us)
    dwell = b.min_dwell_us is not None

    case_pings = f"""(
        SELECT phone, cell, {d.epoch_us("ts")} AS t
        FROM pings
        WHERE {in_window} AND phone IN (SELECT phone FROM cases)
    ) AS case_pings"""
    steps = [
        # Small: the cases' own stays over the whole window (the dwell rule needs them unclipped).
        Step("case_raw_stays", stays_sql(case_pings, b.max_gap_us, d)),
        # Materialised before the big join so that every engine builds its hash table on this small side.
        Step(
            "case_stays",
            """
            SELECT r.phone AS case_phone, r.cell,
                   GREATEST(r.s, c.start_us) AS s, LEAST(r.e, c.end_us) AS e
            FROM case_raw_stays AS r JOIN cases AS c ON r.phone = c.phone
            WHERE GREATEST(r.s, c.start_us) < LEAST(r.e, c.end_us)
            """,
        ),
    ]
    # Time buckets of the cases' presence per cell, widened by max_gap: companion pings outside them cannot
    # touch an overlap (see the module docstring), so they are dropped before the expensive sessionising.
    bucket = BUCKET_US
    if dwell:
        low, high = str(b.window_start_us), str(b.window_end_us)
    else:
        low, high = f"s - {gap}", f"e + {gap}"
    steps.append(
        Step(
            "case_buckets",
            f"""
            SELECT DISTINCT cell, b
            FROM (
                SELECT cell, {d.int_range(d.int_div(low, bucket), d.int_div(high, bucket))} AS b
                FROM case_stays
            ) AS expanded
            """,
        )
    )

    # One hash join against the small bucket table is the whole filter: its build side also prunes the scan
    # (DuckDB pushes the cells' range into the Parquet reader). Case phones are sessionised here too and
    # dropped in the last step, on ~1 M stays instead of ~45 M pings (a separate cell semi-join and a
    # NOT IN on the pings cost a third of this step's scan-and-filter time; bench/engine_companions.py).
    companion_pings = f"""(
        SELECT p.phone, p.cell, p.t
        FROM (
            SELECT phone, cell, {d.epoch_us("ts")} AS t
            FROM pings
            WHERE {in_window}
        ) AS p
        JOIN case_buckets AS k ON p.cell = k.cell AND {d.int_div("p.t", bucket)} = k.b
    ) AS companion_pings"""
    steps.append(Step("companion_stays", stays_sql(companion_pings, b.max_gap_us, d)))

    if dwell:
        steps.append(
            Step(
                "dwelling_cells",
                f"""
                SELECT c.case_phone, m.phone AS companion_phone, c.cell
                FROM (SELECT DISTINCT case_phone, cell FROM case_stays) AS c
                JOIN (SELECT phone, cell, SUM(e - s) AS dwell FROM companion_stays GROUP BY phone, cell) AS m
                  ON m.cell = c.cell
                LEFT JOIN (SELECT phone, cell, SUM(e - s) AS dwell FROM case_raw_stays GROUP BY phone, cell) AS k
                  ON k.phone = c.case_phone AND k.cell = c.cell
                WHERE m.dwell > {b.min_dwell_us} OR k.dwell > {b.min_dwell_us}
                """,
            )
        )
        dwell_join = """
            JOIN dwelling_cells AS w
              ON w.case_phone = c.case_phone AND w.companion_phone = m.phone AND w.cell = c.cell
        """
    else:
        dwell_join = ""

    # Overlaps, then each pair's total by a GROUP BY joined back (cheaper than a window SUM over every
    # overlap), in the final order so that shaping the result needs no sort.
    steps.append(
        Step(
            "companions",
            f"""
            WITH pairs AS (
                SELECT m.phone AS companion_phone, c.case_phone, c.cell,
                       c.s AS case_start, c.e AS case_end,
                       GREATEST(m.s, c.s) AS overlap_start, LEAST(m.e, c.e) AS overlap_end
                FROM companion_stays AS m
                JOIN case_stays AS c ON m.cell = c.cell
                {dwell_join}
                WHERE GREATEST(m.s, c.s) < LEAST(m.e, c.e) AND m.phone NOT IN (SELECT phone FROM cases)
            ),
            totals AS (
                SELECT companion_phone, case_phone, SUM(overlap_end - overlap_start) AS total
                FROM pairs
                GROUP BY companion_phone, case_phone
                HAVING SUM(overlap_end - overlap_start) >= {b.min_overlap_us}
            )
            SELECT p.companion_phone, p.case_phone, p.cell, p.case_start, p.case_end,
                   p.overlap_start, p.overlap_end
            FROM pairs AS p
            JOIN totals AS t ON p.companion_phone = t.companion_phone AND p.case_phone = t.case_phone
            ORDER BY p.case_phone, t.total DESC, p.companion_phone, p.overlap_start, p.cell, p.case_start
            """,
        )
    )
    return steps
