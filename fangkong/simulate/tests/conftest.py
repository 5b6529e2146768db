from __future__ import annotations

import pytest

from fangkong.simulate import City, CityConfig, build_city


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """No Django here: replaces the project's autouse settings fixture (runs without pytest-django)."""


@pytest.fixture(scope="session")
def city() -> City:
    return build_city(CityConfig(people=20_000, seed=7))
