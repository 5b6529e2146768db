"""Synthetic city and outbreak simulator (numpy/pyarrow, no Django).

from fangkong.simulate import build_city, CityConfig
city = build_city(CityConfig(people=20_000, seed=7))
"""

from fangkong.simulate.city import City, CityConfig, build_city

__all__ = ["City", "CityConfig", "build_city"]
