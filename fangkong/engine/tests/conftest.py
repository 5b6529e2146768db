"""Engine tests run without Django; Spark tests are marked, and skip only outside CI when PySpark is absent."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator

import pytest

from fangkong.engine import SparkBackend

logging.getLogger("py4j").setLevel(logging.WARNING)  # its shutdown messages outlive pytest's capture


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: runs on PySpark local[2] (the optional 'spark' extra); slow to start")


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """No Django here: replaces the project's autouse settings fixture (runs without pytest-django)."""


@pytest.fixture(scope="session")
def spark_backend() -> Iterator[SparkBackend]:
    """One Spark session for the whole run (~10 s to start).

    Without PySpark the Spark tests skip on a developer machine but fail in CI (``CI`` set), whose setup
    installs the extra: a missing engine must not turn a red run green.
    """
    if importlib.util.find_spec("pyspark") is None:
        if os.environ.get("CI"):
            pytest.fail('PySpark is not installed but CI is set: install the extra, pip install ".[spark]"')
        pytest.skip('PySpark is not installed (pip install ".[spark]")')
    backend = SparkBackend(driver_memory="1g")
    yield backend
    backend.stop()
