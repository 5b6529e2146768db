"""Fangkong's simulator against Covasim 3.1.9 and 4.0.1: agent-days per second and peak memory.

Each run is its own subprocess (so peak RSS is that run's alone); Covasim runs in the virtual environments
given by --cv3 / --cv4. Usage (from the repository root):

    STARSIM_INSTALL_FONTS=0 .venv/bin/python bench/simulate_vs_covasim.py \\
        --cv3 /tmp/cv3/bin/python --cv4 /tmp/cv4/bin/python --sizes 100000 1000000 --days 120

Timing covers building the population and running all days (Covasim: ``cv.Sim(...)`` + ``sim.run()``, which
creates people and contact layers; Fangkong: ``build_city`` + ``run_outbreak``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = ("none", "testing_tracing")


def covasim_worker(size: int, days: int, setting: str, seed: int) -> dict[str, object]:
    import covasim as cv

    pars = dict(
        pop_size=size,
        pop_type="hybrid",
        n_days=days,
        pop_infected=0,
        use_waning=False,
        rand_seed=seed,
        verbose=0,
        variants=[cv.variant("delta", days=0, n_imports=10)],
    )
    if setting == "testing_tracing":
        pars["interventions"] = [
            cv.test_prob(symp_prob=0.2, asymp_prob=0.0, symp_quar_prob=1.0, asymp_quar_prob=1.0, test_delay=0),
            cv.contact_tracing(
                trace_probs=dict(h=1.0, s=0.95, w=0.8, c=0.25), trace_time=dict(h=1, s=1, w=1, c=1), quar_period=14
            ),
        ]
    start = time.perf_counter()
    sim = cv.Sim(pars)
    sim.run()
    seconds = time.perf_counter() - start
    infections = float(sim.results["cum_infections"][-1])
    return {"engine": f"Covasim {cv.__version__}", "seconds": seconds, "attack_rate": infections / size}


def fangkong_worker(size: int, days: int, setting: str, seed: int) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fangkong.simulate import CityConfig, Interventions, OutbreakConfig, build_city, run_outbreak

    interventions = Interventions.testing_and_tracing() if setting == "testing_tracing" else Interventions.none()
    start = time.perf_counter()
    city = build_city(CityConfig(people=size, seed=seed))
    built = time.perf_counter()
    result = run_outbreak(
        city, OutbreakConfig(days=days, seed=seed, seed_infections=10, arrival_days=1, interventions=interventions)
    )
    seconds = time.perf_counter() - start
    return {
        "engine": "Fangkong simulate",
        "seconds": seconds,
        "build_seconds": built - start,
        "attack_rate": result.attack_rate,
    }


def worker(args: argparse.Namespace) -> None:
    run = fangkong_worker if args.engine == "fangkong" else covasim_worker
    out = run(args.size, args.days, args.setting, args.seed)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["agent_days_per_s"] = args.size * args.days / float(out["seconds"])  # type: ignore[arg-type]
    print("RESULT " + json.dumps(out))


def launch(python: str, engine: str, size: int, days: int, setting: str, seed: int) -> dict[str, object]:
    env = dict(os.environ, STARSIM_INSTALL_FONTS="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    command = [
        python,
        __file__,
        "--worker",
        "--engine",
        engine,
        "--size",
        str(size),
        "--days",
        str(days),
        "--setting",
        setting,
        "--seed",
        str(seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"{engine} {size} {setting} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="fangkong")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--setting", default="none", choices=SETTINGS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cv3", default="/tmp/cv3/bin/python")  # noqa: S108 - venv made by the README step
    parser.add_argument("--cv4", default="/tmp/cv4/bin/python")  # noqa: S108
    parser.add_argument("--json", type=Path, help="also write all results here")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    engines = [("fangkong", sys.executable), ("covasim3", args.cv3), ("covasim4", args.cv4)]
    rows: list[dict[str, object]] = []
    for size in args.sizes:
        for setting in SETTINGS:
            for engine, python in engines:
                row = launch(python, engine, size, args.days, setting, args.seed)
                row.update(size=size, setting=setting)
                rows.append(row)
                print(
                    f"{row['engine']:<20} {size:>9,} {setting:<16} {float(row['seconds']):7.1f} s  "  # type: ignore[arg-type]
                    f"{float(row['agent_days_per_s']) / 1e6:5.2f} M agent-days/s  "  # type: ignore[arg-type]
                    f"{float(row['peak_rss_mb']):6.0f} MB  attack {float(row['attack_rate']):.2f}",  # type: ignore[arg-type]
                    flush=True,
                )
    print()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; days={args.days}")
    print(
        "| people | setting | Fangkong M/s | Covasim 3.1.9 M/s | Covasim 4.0.1 M/s | faster Covasim | ratio "
        "| Fangkong MB | Covasim 3.1.9 MB | Covasim 4.0.1 MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for setting in SETTINGS:
            group = {
                str(r["engine"]).split()[0]
                + (str(r["engine"]).split()[-1][:1] if "Covasim" in str(r["engine"]) else ""): r
                for r in rows
                if r["size"] == size and r["setting"] == setting
            }
            ours, cv3, cv4 = group["Fangkong"], group["Covasim3"], group["Covasim4"]
            speed = {k: float(v["agent_days_per_s"]) for k, v in group.items()}  # type: ignore[arg-type]
            best = max(("Covasim3", "Covasim4"), key=lambda k: speed[k])
            print(
                f"| {size:,} | {setting} | {speed['Fangkong'] / 1e6:.2f} | {speed['Covasim3'] / 1e6:.2f} | "
                f"{speed['Covasim4'] / 1e6:.2f} | {best.replace('Covasim3', '3.1.9').replace('Covasim4', '4.0.1')} | "
                f"{speed['Fangkong'] / speed[best]:.2f}× | {float(ours['peak_rss_mb']):.0f} | "  # type: ignore[arg-type]
                f"{float(cv3['peak_rss_mb']):.0f} | {float(cv4['peak_rss_mb']):.0f} |"
            )  # type: ignore[arg-type]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
