"""A brute-force Python reference for companion screening, written from the definition, without pruning.

It sessionises every phone in every cell, clips case stays to their windows, and compares every stay of every
other phone with every case stay in the same cell. Slow and obvious on purpose: the engine's results must be
identical to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

Evidence = tuple[int, int, int, int, int]  # cell, overlap_start, overlap_end, case_start, case_end (µs)


def reference_companions(
    pings: Iterable[tuple[int, int, int]],
    cases: Mapping[int, tuple[int, int]],
    *,
    as_of_us: int,
    lookback_us: int,
    max_gap_us: int,
    min_overlap_us: int,
    min_dwell_us: int | None = None,
) -> dict[tuple[int, int], list[Evidence]]:
    """``{(case_phone, companion_phone): sorted evidence}`` for pings (phone, cell, t_us)."""
    times: dict[tuple[int, int], list[int]] = defaultdict(list)
    for phone, cell, t in pings:
        if as_of_us - lookback_us <= t <= as_of_us:
            times[(phone, cell)].append(t)
    stays: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key, ts in times.items():
        ts.sort()
        runs = [[ts[0], ts[0]]]
        for t in ts[1:]:
            if t - runs[-1][1] <= max_gap_us:
                runs[-1][1] = t
            else:
                runs.append([t, t])
        stays[key] = [(s, e) for s, e in runs]
    dwell = {key: sum(e - s for s, e in spans) for key, spans in stays.items()}
    result: dict[tuple[int, int], list[Evidence]] = defaultdict(list)
    for (case_phone, cell), case_spans in stays.items():
        if case_phone not in cases:
            continue
        window_start, window_end = cases[case_phone]
        for s, e in case_spans:
            cs, ce = max(s, window_start), min(e, window_end)
            if cs >= ce:
                continue
            for (phone, other_cell), spans in stays.items():
                if other_cell != cell or phone in cases:
                    continue
                if min_dwell_us is not None and not (
                    dwell[(phone, cell)] > min_dwell_us or dwell[(case_phone, cell)] > min_dwell_us
                ):
                    continue
                for ms, me in spans:
                    lo, hi = max(ms, cs), min(me, ce)
                    if lo < hi:
                        result[(case_phone, phone)].append((cell, lo, hi, cs, ce))
    return {
        key: sorted(evidence)
        for key, evidence in result.items()
        if sum(hi - lo for _, lo, hi, _, _ in evidence) >= min_overlap_us
    }
