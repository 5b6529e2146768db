"""Scenario planning: named intervention sets run over several seeds, summarised with uncertainty bands.

    from fangkong.simulate.scenarios import run_scenarios, NAMED_SCENARIOS, plot_scenarios
    summary = run_scenarios(city, ["tracing_close_only", "tracing_with_secondary"], seeds=range(5),
                            progress=lambda done, total: print(done, total))
    plot_scenarios(summary, "scenarios.png")

Every scenario runs with the same seeds, and each random draw has its own stream, so differences between
scenarios come from the policy, not from luck.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from fangkong.simulate.city import City
from fangkong.simulate.interventions import FeverClinics, Interventions, MassTesting, Tracing, VenueRules
from fangkong.simulate.outbreak import OutbreakConfig, OutbreakResult, run_outbreak

ENTERTAINMENT = frozenset({"internet_cafe", "ktv", "chess_room", "scenic_spot", "cinema"})


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str  # Chinese, for the dashboard
    interventions: Interventions
    description: str = ""


def _named() -> dict[str, Scenario]:
    fever = FeverClinics()
    tracing = Tracing()
    closure = VenueRules(closed_categories=ENTERTAINMENT, capacity_caps={"restaurant": 0.5, "market": 0.75})
    scenarios = [
        Scenario(
            "detection_only",
            "仅发热门诊发现",
            Interventions(fever_clinics=fever),
            "fever clinics detect and isolate cases; nobody is traced",
        ),
        Scenario(
            "tracing_close_only",
            "追踪密接（不含次密接）",
            Interventions(fever_clinics=fever, tracing=dataclasses.replace(tracing, secondary=False)),
            "close contacts into quarantine, secondary contacts not",
        ),
        Scenario(
            "tracing_with_secondary",
            "追踪密接和次密接",
            Interventions(fever_clinics=fever, tracing=tracing),
            "close and secondary contacts into quarantine (ed8)",
        ),
        Scenario(
            "mass_testing_pool10",
            "全员核酸 10混1",
            Interventions(fever_clinics=fever, tracing=tracing, mass_testing=MassTesting(pool_size=10)),
            "tracing plus three rounds of 10-in-1 mass testing",
        ),
        Scenario(
            "mass_testing_pool20",
            "全员核酸 20混1",
            Interventions(fever_clinics=fever, tracing=tracing, mass_testing=MassTesting(pool_size=20)),
            "tracing plus three rounds of 20-in-1 mass testing",
        ),
        Scenario(
            "venues_open",
            "场所不关闭",
            Interventions(fever_clinics=fever, tracing=tracing),
            "tracing, every venue open",
        ),
        Scenario(
            "venues_closed",
            "关闭娱乐场所并限流",
            Interventions(fever_clinics=fever, tracing=tracing, venues=closure),
            "tracing; internet cafés, KTV, chess rooms, cinemas, scenic spots closed; restaurants 50 %",
        ),
        Scenario("full_ed8", "第八版全套措施", Interventions.full(), "every lever of ed8"),
    ]
    return {s.name: s for s in scenarios}


NAMED_SCENARIOS: dict[str, Scenario] = _named()

SUMMARY_METRICS = (
    "peak_rooms",
    "peak_quarantine_demand",
    "peak_tests_per_day",
    "peak_tubes_per_day",
    "peak_beds",
    "cumulative_infections",
    "cumulative_cases",
)
BAND_SERIES = ("new_infections", "in_quarantine_rooms", "tests", "beds_used", "cumulative_infections")


@dataclass
class ScenarioSummary:
    summary: pa.Table  # scenario, title, metric, mean, p05, p50, p95, seeds
    bands: pa.Table  # scenario, day, series, p05, p50, p95
    runs: dict[tuple[str, int], pa.Table]  # (scenario, seed) → daily series

    def metric(self, scenario: str, metric: str) -> dict[str, float]:
        rows = self.summary.to_pylist()
        for row in rows:
            if row["scenario"] == scenario and row["metric"] == metric:
                return {k: float(row[k]) for k in ("mean", "p05", "p50", "p95")}
        raise KeyError((scenario, metric))


def _metrics(result: OutbreakResult) -> dict[str, float]:
    d = result.daily
    rooms = np.asarray(d["in_quarantine_rooms"].to_numpy())
    home = np.asarray(d["home_quarantine"].to_numpy())
    return {
        "peak_rooms": float(rooms.max()),
        "peak_quarantine_demand": float((rooms + home).max()),
        "peak_tests_per_day": float(np.asarray(d["tests"].to_numpy()).max()),
        "peak_tubes_per_day": float(np.asarray(d["tubes"].to_numpy()).max()),
        "peak_beds": float(np.asarray(d["beds_used"].to_numpy()).max()),
        "cumulative_infections": float(np.asarray(d["new_infections"].to_numpy()).sum()),
        "cumulative_cases": float(np.asarray(d["new_cases"].to_numpy()).sum()),
    }


def run_scenarios(
    city: City,
    scenarios: Iterable[str | Scenario] | None = None,
    seeds: Sequence[int] | int = 5,
    base: OutbreakConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScenarioSummary:
    """Run each scenario once per seed; ``progress(done, total)`` is called after every run."""
    chosen = [NAMED_SCENARIOS[s] if isinstance(s, str) else s for s in (scenarios or NAMED_SCENARIOS.keys())]
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    config = base or OutbreakConfig()
    total = len(chosen) * len(seed_list)
    done = 0
    summary_rows: list[dict[str, object]] = []
    band_rows: dict[str, list[object]] = {k: [] for k in ("scenario", "day", "series", "p05", "p50", "p95")}
    runs: dict[tuple[str, int], pa.Table] = {}
    for scenario in chosen:
        per_seed: list[dict[str, float]] = []
        series: dict[str, list[np.ndarray]] = {k: [] for k in BAND_SERIES}
        for seed in seed_list:
            result = run_outbreak(city, dataclasses.replace(config, seed=seed, interventions=scenario.interventions))
            runs[(scenario.name, seed)] = result.daily
            per_seed.append(_metrics(result))
            for k in BAND_SERIES:
                series[k].append(np.asarray(result.daily[k].to_numpy(), dtype=np.float64))
            done += 1
            if progress is not None:
                progress(done, total)
        for metric in SUMMARY_METRICS:
            values = np.array([m[metric] for m in per_seed])
            summary_rows.append(
                {
                    "scenario": scenario.name,
                    "title": scenario.title,
                    "metric": metric,
                    "mean": float(values.mean()),
                    "p05": float(np.percentile(values, 5)),
                    "p50": float(np.percentile(values, 50)),
                    "p95": float(np.percentile(values, 95)),
                    "seeds": len(values),
                }
            )
        for k in BAND_SERIES:
            matrix = np.vstack(series[k])
            p05, p50, p95 = np.percentile(matrix, [5, 50, 95], axis=0)
            days = matrix.shape[1]
            band_rows["scenario"] += [scenario.name] * days
            band_rows["day"] += list(range(days))
            band_rows["series"] += [k] * days
            band_rows["p05"] += p05.tolist()
            band_rows["p50"] += p50.tolist()
            band_rows["p95"] += p95.tolist()
    return ScenarioSummary(pa.Table.from_pylist(summary_rows), pa.table(band_rows), runs)


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC")


def cjk_font() -> str | None:
    """The first installed CJK font matplotlib can use, or None (CI installs fonts-noto-cjk)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def plot_scenarios(summary: ScenarioSummary, path: str | Path, *, chinese: bool | None = None) -> Path:
    """Median and 5-95 % band per scenario for rooms, tests/day, beds and cumulative infections (PNG).

    Chinese labels are used when a CJK font is installed (else English, with a warning, so no boxes appear).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if chinese is None:
        chinese = font is not None
    if chinese and font is None:
        warnings.warn(
            "no CJK font installed (apt-get install fonts-noto-cjk); Chinese text will not render", stacklevel=2
        )
    families = ([font] if font else []) + ["DejaVu Sans"]
    panels = [
        ("in_quarantine_rooms", "集中隔离房间占用", "quarantine rooms in use"),
        ("tests", "每日检测人次", "tests per day"),
        ("beds_used", "定点医院床位占用", "hospital beds in use"),
        ("cumulative_infections", "累计感染", "cumulative infections"),
    ]
    bands = summary.bands.to_pydict()
    titles = {row["scenario"]: row["title"] for row in summary.summary.to_pylist()}
    scenario_names = list(dict.fromkeys(bands["scenario"]))
    with plt.rc_context({"font.family": families, "axes.unicode_minus": False}):
        figure, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=110)
        for axis, (series, zh, en) in zip(axes.ravel(), panels, strict=True):
            for index, scenario in enumerate(scenario_names):
                rows = [
                    i
                    for i, (s, k) in enumerate(zip(bands["scenario"], bands["series"], strict=True))
                    if s == scenario and k == series
                ]
                day = np.array([bands["day"][i] for i in rows])
                p05 = np.array([bands["p05"][i] for i in rows])
                p50 = np.array([bands["p50"][i] for i in rows])
                p95 = np.array([bands["p95"][i] for i in rows])
                colour = f"C{index % 10}"
                label = titles.get(scenario, scenario) if chinese else scenario
                axis.plot(day, p50, color=colour, label=label, linewidth=1.6)
                axis.fill_between(day, p05, p95, color=colour, alpha=0.18, linewidth=0)
            axis.set_title(zh if chinese else en)
            axis.set_xlabel("天" if chinese else "day")
            axis.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=8)
        figure.suptitle("情景推演（中位数与 5–95% 区间）" if chinese else "Scenarios (median and 5-95 % band)")
        figure.tight_layout()
        out = Path(path)
        figure.savefig(out)
        plt.close(figure)
    return out
