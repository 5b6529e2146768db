from __future__ import annotations

from pathlib import Path

from fangkong.simulate import City, OutbreakConfig
from fangkong.simulate.scenarios import NAMED_SCENARIOS, plot_scenarios, run_scenarios


def test_scenarios_report_bands_and_progress(city: City, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = run_scenarios(
        city,
        ["tracing_close_only", "tracing_with_secondary"],
        seeds=2,
        base=OutbreakConfig(days=30),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (4, 4)
    rooms = summary.metric("tracing_with_secondary", "peak_rooms")
    assert rooms["p05"] <= rooms["p50"] <= rooms["p95"]
    assert summary.bands.num_rows == 2 * 5 * 30
    png = plot_scenarios(summary, tmp_path / "s.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(NAMED_SCENARIOS) >= {"tracing_close_only", "mass_testing_pool10", "mass_testing_pool20", "venues_closed"}
