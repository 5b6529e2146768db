"""Run the named scenarios over several seeds and print the planning table (and a PNG).

.venv/bin/python bench/simulate_scenarios.py --people 100000 --seeds 5 --days 90 --png /tmp/scenarios.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fangkong.simulate import CityConfig, OutbreakConfig, build_city  # noqa: E402
from fangkong.simulate.scenarios import NAMED_SCENARIOS, cjk_font, plot_scenarios, run_scenarios  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scenarios", nargs="+", default=list(NAMED_SCENARIOS))
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    began = time.perf_counter()
    city = build_city(CityConfig(people=args.people, seed=1))
    summary = run_scenarios(
        city,
        args.scenarios,
        seeds=args.seeds,
        base=OutbreakConfig(days=args.days),
        progress=lambda done, total: print(f"  run {done}/{total}", end="\r", flush=True),
    )
    print()
    metrics = ("peak_rooms", "peak_quarantine_demand", "peak_tests_per_day", "peak_beds", "cumulative_infections")
    print("| scenario | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for name in args.scenarios:
        cells = []
        for metric in metrics:
            m = summary.metric(name, metric)
            cells.append(f"{m['p50']:,.0f} ({m['p05']:,.0f}–{m['p95']:,.0f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        f"\n{args.people:,} people, {args.days} days, seeds 0–{args.seeds - 1}; median (5–95 %); "
        f"{time.perf_counter() - began:.0f} s"
    )
    if args.png:
        print("CJK font:", cjk_font() or "none installed (English labels)")
        plot_scenarios(summary, args.png)
        print("wrote", args.png)


if __name__ == "__main__":
    main()
