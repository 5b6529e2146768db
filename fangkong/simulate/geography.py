"""Counties of the configured prefecture, synthetic streets and communities, and their boundaries.

County codes and names are the real GB/T 2260 ones; seat coordinates and populations are approximate
(2020 census, rounded). Boundaries are nested Voronoi cells clipped to the parent, so every polygon is
convex, lies inside its parent and contains its representative point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class County:
    code: str
    name: str
    lon: float
    lat: float
    population: float  # millions, approximate
    urban_share: float  # share of residents in urban communities (codes 001-199)


@dataclass(frozen=True)
class Prefecture:
    code: str
    name: str
    counties: tuple[County, ...]
    bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max


LUOYANG = Prefecture(
    code="410300",
    name="示范市",
    counties=(
        County("410302", "老城区", 112.469, 34.684, 0.21, 0.95),
        County("410303", "西工区", 112.437, 34.660, 0.44, 0.97),
        County("410304", "瀍河回族区", 112.500, 34.680, 0.24, 0.90),
        County("410305", "涧西区", 112.396, 34.658, 0.58, 0.97),
        County("410307", "偃师区", 112.790, 34.727, 0.58, 0.45),
        County("410308", "孟津区", 112.445, 34.826, 0.46, 0.40),
        County("410311", "洛龙区", 112.464, 34.619, 1.00, 0.85),
        County("410323", "新安县", 112.132, 34.728, 0.43, 0.40),
        County("410324", "栾川县", 111.615, 33.786, 0.31, 0.35),
        County("410325", "嵩县", 112.085, 34.134, 0.45, 0.30),
        County("410326", "汝阳县", 112.473, 34.154, 0.37, 0.35),
        County("410327", "宜阳县", 112.179, 34.514, 0.53, 0.35),
        County("410328", "洛宁县", 111.653, 34.389, 0.36, 0.30),
        County("410329", "伊川县", 112.425, 34.421, 0.72, 0.40),
    ),
    bbox=(111.15, 33.55, 112.95, 35.05),
)

PREFECTURES = {LUOYANG.code: LUOYANG}

# Syllables for synthetic place names; pairs are drawn without repetition inside one parent.
_PLACE_FIRST = (
    "东西南北中新老红光明和平建设人民解放文化幸福长青春兴华安康永宁福泰丰瑞金玉龙凤"
    "鹤桃李杏柳松柏梅兰竹菊翠云霞星月河湖泉溪山岭岗坡沟湾洼滩庄营寨集店桥"
)
_PLACE_SECOND = "阳安宁华兴和平顺康泰丰源盛昌隆瑞祥福寿宝华苑庭园林湖山河城门关桥街坊里庄"


def place_names(count: int, rng: np.random.Generator, suffix: str) -> list[str]:
    """``count`` distinct two-character names plus a suffix (e.g. '街道', '社区')."""
    total = len(_PLACE_FIRST) * len(_PLACE_SECOND)
    picks = rng.choice(total, size=min(count, total), replace=False)
    names = [_PLACE_FIRST[p // len(_PLACE_SECOND)] + _PLACE_SECOND[p % len(_PLACE_SECOND)] + suffix for p in picks]
    while len(names) < count:  # only for absurd sizes: number the overflow
        names.append(f"{names[len(names) % total][:2]}{len(names) // total + 1}{suffix}")
    return names


Polygon = npt.NDArray[np.float64]  # (k, 2) vertices, counter-clockwise, not closed


def box(lon_min: float, lat_min: float, lon_max: float, lat_max: float) -> Polygon:
    return np.array([[lon_min, lat_min], [lon_max, lat_min], [lon_max, lat_max], [lon_min, lat_max]])


def _clip(polygon: Polygon, normal: npt.NDArray[np.float64], offset: float) -> Polygon:
    """Keep the part of a convex polygon where ``normal . x <= offset`` (Sutherland-Hodgman)."""
    if polygon.shape[0] == 0:
        return polygon
    values = polygon @ normal - offset
    out: list[npt.NDArray[np.float64]] = []
    k = polygon.shape[0]
    for i in range(k):
        a, b = polygon[i], polygon[(i + 1) % k]
        va, vb = values[i], values[(i + 1) % k]
        if va <= 0:
            out.append(a)
        if (va < 0 < vb) or (vb < 0 < va):
            t = va / (va - vb)
            out.append(a + t * (b - a))
    return np.array(out) if out else np.zeros((0, 2))


def voronoi_cells(sites: npt.NDArray[np.float64], boundary: Polygon) -> list[Polygon]:
    """Voronoi cell of each site clipped to a convex boundary (O(k^2), fine for k < a few hundred).

    Distances use a local equirectangular scale so cells look right on a map.
    """
    scale = np.array([np.cos(np.radians(float(sites[:, 1].mean()))) if len(sites) else 1.0, 1.0])
    cells: list[Polygon] = []
    scaled = sites * scale
    for i in range(sites.shape[0]):
        cell = boundary * scale
        for j in range(sites.shape[0]):
            if i == j:
                continue
            normal = scaled[j] - scaled[i]
            if not normal.any():
                continue
            offset = float(normal @ (scaled[i] + scaled[j]) / 2.0)
            cell = _clip(cell, normal, offset)
        cells.append(cell / scale if cell.shape[0] else cell)
    return cells


def point_in_convex(polygon: Polygon, points: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    inside = np.ones(points.shape[0], dtype=bool)
    k = polygon.shape[0]
    for i in range(k):
        a, b = polygon[i], polygon[(i + 1) % k]
        cross = (b[0] - a[0]) * (points[:, 1] - a[1]) - (b[1] - a[1]) * (points[:, 0] - a[0])
        inside &= cross >= -1e-12
    return inside


def sample_in_polygon(
    polygon: Polygon,
    count: int,
    rng: np.random.Generator,
    centre: tuple[float, float] | None = None,
    spread: float | None = None,
) -> npt.NDArray[np.float64]:
    """Points inside a convex polygon: uniform, or normal around ``centre`` with sd ``spread`` degrees."""
    result = np.zeros((0, 2))
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    for _attempt in range(50):
        need = count - result.shape[0]
        if need <= 0:
            break
        if centre is None or spread is None:
            candidates = rng.uniform(low, high, size=(need * 3 + 4, 2))
        else:
            candidates = rng.normal(centre, spread, size=(need * 3 + 4, 2))
        keep = candidates[point_in_convex(polygon, candidates)]
        result = np.vstack([result, keep[:need]])
        if spread is not None:
            spread *= 0.7  # tighten if the polygon is small
    if result.shape[0] < count:  # degenerate polygon: use its vertex mean
        fill = np.repeat(polygon.mean(axis=0)[None, :], count - result.shape[0], axis=0)
        result = np.vstack([result, fill])
    return result


def to_geojson_ring(polygon: Polygon) -> list[list[float]]:
    ring = [[round(float(x), 6), round(float(y), 6)] for x, y in polygon]
    if _signed_area(polygon) < 0:
        ring.reverse()
    ring.append(ring[0])
    return ring


def _signed_area(polygon: Polygon) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
