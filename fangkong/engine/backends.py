"""Backends that run a list of :class:`~fangkong.engine.query.Step` over a Parquet data set.

Both receive the same steps (rendered for their dialect), the same Parquet path and the same small Arrow table
of cases, and return the last step's rows as Arrow. Neither copies pings anywhere: DuckDB scans the files in
place, Spark reads them as a DataFrame. Only the small intermediate results (the cases' stays, their cells,
the stays found in those cells) are materialised.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

from fangkong.engine.dialect import DUCKDB, SPARK, Dialect
from fangkong.engine.query import Step

if TYPE_CHECKING:  # pragma: no cover - typing only; pyspark is an optional extra
    from pyspark.sql import SparkSession

PingsPath = str | os.PathLike[str]
Source = str | os.PathLike[str] | pa.Table
"""An input of :meth:`Backend.run_steps`: a Parquet data set (file, directory or glob) or an Arrow table."""


class Backend(Protocol):
    """Runs the steps of a query; everything but the last is materialised under the step's name."""

    @property
    def dialect(self) -> Dialect: ...

    def run(self, pings: PingsPath, cases: pa.Table, steps: Sequence[Step]) -> pa.Table: ...

    def run_steps(
        self, inputs: Mapping[str, Source], steps: Sequence[Step], outputs: Sequence[Step]
    ) -> dict[str, pa.Table]: ...


def parquet_files(pings: PingsPath) -> str:
    """A glob for the data set: a directory means every ``*.parquet`` below it (the hive layout)."""
    path = Path(pings)
    if path.is_dir():
        return str(path / "**" / "*.parquet")
    return str(pings)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBBackend:
    """DuckDB in-process: the default.

    One connection per backend, a ``cursor()`` per run: a cursor is DuckDB's connection for one thread, and
    its temporary tables vanish when it closes, so concurrent runs (Django workers, threads) never see each
    other's intermediate tables. Extension auto-install and auto-load are off: offline, each failed attempt
    costs seconds (TECH-NOTES), and the engine needs only the built-in Parquet reader.
    """

    def __init__(
        self,
        *,
        threads: int = 2,
        memory_limit: str = "6GiB",
        temp_directory: str | None = None,
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": threads,
            "memory_limit": memory_limit,
            # Result order comes from explicit sorting in Python, so DuckDB may stream without keeping it.
            "preserve_insertion_order": False,
        }
        if temp_directory is not None:
            config["temp_directory"] = temp_directory
        self._connection = duckdb.connect(":memory:", config=config)

    @property
    def dialect(self) -> Dialect:
        return DUCKDB

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (tests and benchmarks use it to run their own SQL)."""
        return self._connection.cursor()

    def run(self, pings: PingsPath, cases: pa.Table, steps: Sequence[Step]) -> pa.Table:
        cursor = self._connection.cursor()
        try:
            cursor.register("cases_input", cases)
            cursor.execute("CREATE TEMP TABLE cases AS SELECT phone, start_us, end_us FROM cases_input")
            cursor.unregister("cases_input")
            cursor.execute(
                "CREATE TEMP VIEW pings AS SELECT phone, cell, ts FROM read_parquet("  # noqa: S608 - quoted path
                f"{_sql_string(parquet_files(pings))}, hive_partitioning = false)"
            )
            for step in steps[:-1]:
                cursor.execute(f"CREATE TEMP TABLE {step.name} AS {step.sql}")
            result: pa.Table = cursor.sql(steps[-1].sql).to_arrow_table()
            return result
        finally:
            cursor.close()

    def run_steps(
        self, inputs: Mapping[str, Source], steps: Sequence[Step], outputs: Sequence[Step]
    ) -> dict[str, pa.Table]:
        """The general form of :meth:`run`: named inputs (Parquet scanned in place, Arrow tables read without a
        copy), every step materialised as a temporary table, and each output query fetched as Arrow."""
        cursor = self._connection.cursor()
        try:
            for name, source in inputs.items():
                if isinstance(source, pa.Table):
                    cursor.register(name, source)
                else:
                    cursor.execute(
                        f"CREATE TEMP VIEW {name} AS SELECT * FROM read_parquet("  # noqa: S608 - quoted path
                        f"{_sql_string(parquet_files(source))}, hive_partitioning = false)"
                    )
            for step in steps:
                cursor.execute(f"CREATE TEMP TABLE {step.name} AS {step.sql}")
            return {output.name: cursor.sql(output.sql).to_arrow_table() for output in outputs}
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.close()


class SparkBackend:
    """Apache Spark through PySpark (the optional ``spark`` extra), ``local[2]`` unless given a session.

    The session is created on first use (it takes ~10 s) and reused. Steps are cached temporary views,
    materialised eagerly so each is computed once. Runs are serialised by a lock: temporary views are
    per-session names. The session time zone is UTC so that timestamp literals and ``unix_micros`` agree with
    DuckDB's.
    """

    def __init__(
        self,
        session: SparkSession | None = None,
        *,
        master: str = "local[2]",
        driver_memory: str = "4g",
        shuffle_partitions: int = 4,
    ) -> None:
        self._session = session
        self._master = master
        self._driver_memory = driver_memory
        self._shuffle_partitions = shuffle_partitions
        self._lock = threading.Lock()

    @property
    def dialect(self) -> Dialect:
        return SPARK

    def session(self) -> SparkSession:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as error:  # pragma: no cover - depends on the environment
                raise RuntimeError('the Spark backend needs PySpark: pip install "fangkong[spark]"') from error
            self._session = (
                SparkSession.builder.master(self._master)
                .appName("fangkong-engine")
                .config("spark.driver.memory", self._driver_memory)
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", str(self._shuffle_partitions))
                .config("spark.ui.enabled", "false")
                .config("spark.sql.ansi.enabled", "true")
                .getOrCreate()
            )
        return self._session

    def run(self, pings: PingsPath, cases: pa.Table, steps: Sequence[Step]) -> pa.Table:
        with self._lock:
            spark = self.session()
            created: list[Any] = []
            names = ["pings", "cases", *(step.name for step in steps[:-1])]
            try:
                paths = _spark_paths(pings)
                spark.read.parquet(*paths).select("phone", "cell", "ts").createOrReplaceTempView("pings")
                cases_frame = spark.createDataFrame(cases.select(["phone", "start_us", "end_us"]))
                cases_frame.cache().count()
                created.append(cases_frame)
                cases_frame.createOrReplaceTempView("cases")
                for step in steps[:-1]:
                    frame = spark.sql(step.sql).cache()
                    frame.count()
                    created.append(frame)
                    frame.createOrReplaceTempView(step.name)
                result: pa.Table = spark.sql(steps[-1].sql).toArrow()
                return result
            finally:
                for frame in created:
                    frame.unpersist()
                for name in names:
                    spark.catalog.dropTempView(name)

    def run_steps(
        self, inputs: Mapping[str, Source], steps: Sequence[Step], outputs: Sequence[Step]
    ) -> dict[str, pa.Table]:
        """As :meth:`DuckDBBackend.run_steps`: inputs become temporary views, steps cached views."""
        with self._lock:
            spark = self.session()
            created: list[Any] = []
            names = [*inputs, *(step.name for step in steps)]
            try:
                for name, source in inputs.items():
                    if isinstance(source, pa.Table):
                        frame = spark.createDataFrame(source)
                    else:
                        frame = spark.read.parquet(*_spark_paths(source))
                    frame.createOrReplaceTempView(name)
                for step in steps:
                    frame = spark.sql(step.sql).cache()
                    frame.count()
                    created.append(frame)
                    frame.createOrReplaceTempView(step.name)
                return {output.name: spark.sql(output.sql).toArrow() for output in outputs}
            finally:
                for frame in created:
                    frame.unpersist()
                for name in names:
                    spark.catalog.dropTempView(name)

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None


def _spark_paths(pings: PingsPath) -> list[str]:
    """Spark reads a directory itself; a glob is expanded here so both backends accept the same argument."""
    path = Path(pings)
    if path.is_dir():
        return [str(path)]
    matches = sorted(glob.glob(str(pings), recursive=True))
    if not matches:
        raise FileNotFoundError(f"no Parquet files match {pings}")
    return matches
