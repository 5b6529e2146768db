"""Screening list import at scale: a simulated city's residents as a dirty police list, imported end to end.

    .venv/bin/python bench/screening_import.py --rows 1000000 --format csv        # GBK CSV, SQLite file DB
    .venv/bin/python bench/screening_import.py --rows 1000000 --format xlsx
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_bench .venv/bin/python bench/screening_import.py ...

The list is generated from `build_city` (names, valid ID numbers, phones, addresses naming county, street and
community) with the dirt real lists carry: full-width digits in some ID numbers and phones, phones written
'+86 138-…' or in groups, stray spaces in names, dates as 2021-08-03, 2021/8/3, 2021年8月3日 or Excel serials.
The registry starts empty (the worst case: every row creates a person, a document, a source, an entry, an
event and a report). The timer covers `import_list` only: reading, checking every row, and the one write
transaction; file generation and the database setup are excluded and printed separately.

CPU seconds are printed per phase next to wall time, because on a shared machine they are the comparable
figure: this process plus its check processes (forked for big files, counted once they have ended), and on
PostgreSQL the server backend's CPU (read from /proc when the server runs on this machine).
BENCH_PROFILE=1 profiles `import_list` with cProfile (this process only).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def make_rows(rows: int, seed: int) -> tuple[list[list[object]], object]:
    import datetime as dt

    import numpy as np

    from fangkong.core.text import excel_serial
    from fangkong.simulate import CityConfig, build_city

    city = build_city(CityConfig(people=max(rows, 1000), seed=seed))
    people = city.people
    names = people["name"].to_pylist()[:rows]
    ids = people["id_number"].to_pylist()[:rows]
    phones = [str(p) for p in people["phone"].to_pylist()[:rows]]
    addresses = people["address"].to_pylist()[:rows]
    rng = np.random.default_rng(seed)
    dirt = rng.random((rows, 4))
    origins = ["上海市浦东新区", "310115", "北京市朝阳区(110105)", "广州市", "郑州市金水区"]
    base = dt.date(2021, 8, 1)
    out: list[list[object]] = []
    for i in range(rows):
        day = base + dt.timedelta(days=int(i % 14))
        kind = i % 4
        arrived = (
            f"{day.isoformat()} 14:30"
            if kind == 0
            else f"{day.year}/{day.month}/{day.day}"
            if kind == 1
            else f"{day.year}年{day.month}月{day.day}日"
            if kind == 2
            else str(excel_serial(day))
        )
        number = full_width(ids[i]) if dirt[i, 0] < 0.05 else ids[i]
        phone = phones[i]
        if dirt[i, 1] < 0.05:
            phone = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
        elif dirt[i, 1] < 0.1:
            phone = full_width(phone)
        name = names[i] if dirt[i, 2] > 0.03 else " ".join(names[i])
        out.append([i + 1, name, number, phone, origins[i % len(origins)], arrived, addresses[i]])
    return out, city


HEADERS = ["序号", "姓名", "身份证号码", "联系电话", "来源地", "抵达时间", "现住址"]


def write_csv(rows: list[list[object]], path: Path) -> None:
    with path.open("w", encoding="gb18030", newline="") as handle:
        handle.write(",".join(HEADERS) + "\r\n")
        for row in rows:
            handle.write(",".join(str(v) for v in row) + "\r\n")


def write_xlsx(rows: list[list[object]], path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)


def process_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the forked check processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def server_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend, if it runs on this machine; 0 otherwise."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated list here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fk-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    os.environ.setdefault("FANGKONG_MEDIA_ROOT", str(work / "media"))

    began = time.perf_counter()
    rows, city = make_rows(args.rows, args.seed)
    path = args.keep or work / f"list.{args.format}"
    if not path.exists():
        (write_csv if args.format == "csv" else write_xlsx)(rows, path)
    generated = time.perf_counter() - began
    del rows
    print(f"generated {args.rows:,} rows → {path} ({path.stat().st_size / 1e6:.0f} MB) in {generated:.1f} s")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.MEDIA_ROOT = work / "media"
    call_command("migrate", verbosity=0)
    from fangkong.core.services import import_divisions
    from fangkong.screening.imports import services

    divisions = city.divisions.to_pylist()  # type: ignore[attr-defined]
    import_divisions([{"code": d["code"], "name": d["name"]} for d in divisions], by=None)
    city_division = __import__("fangkong.core.models", fromlist=["Division"]).Division.objects.get(level="city")
    print(f"database: {connection.vendor}, {len(divisions)} divisions")

    list_import = services.receive_list_path(
        path, source="police", layout_name="bench", division=city_division, by=None
    )
    mapping = services.suggest_mapping(HEADERS)
    phases: dict[str, float] = {}
    cpu_phases: dict[str, float] = {}
    server_phases: dict[str, float] = {}
    last: dict[str, Any] = {"message": "", "at": time.perf_counter(), "cpu": process_cpu(), "server": server_cpu()}

    def progress(done: int, total: int, message: str) -> None:
        if message != last["message"]:
            now, cpu_now, server_now = time.perf_counter(), process_cpu(), server_cpu()
            if last["message"]:
                key = str(last["message"])
                phases[key] = phases.get(key, 0) + now - float(last["at"])
                cpu_phases[key] = cpu_phases.get(key, 0) + cpu_now - float(last["cpu"])
                server_phases[key] = server_phases.get(key, 0) + server_now - float(last["server"])
            last["message"], last["at"], last["cpu"], last["server"] = message, now, cpu_now, server_now

    start, cpu_start, server_start = time.perf_counter(), process_cpu(), server_cpu()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    result = services.import_list(list_import, mapping=mapping, by=None, progress=progress)
    if os.environ.get("BENCH_PROFILE"):
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(45)
    elapsed, cpu, server = time.perf_counter() - start, process_cpu() - cpu_start, server_cpu() - server_start
    progress(0, 0, "end")
    print(f"imported: {result.as_dict()}")
    for name, seconds in phases.items():
        print(
            f"  {name[:40]:40s} {seconds:6.1f} s  (CPU: importer {cpu_phases.get(name, 0):6.1f} s, "
            f"database server {server_phases.get(name, 0):5.1f} s)"
        )
    print(
        f"import_list: {elapsed:.1f} s for {args.rows:,} rows ({args.rows / elapsed:,.0f} rows/s); "
        f"CPU: importer {cpu:.1f} s, database server {server:.1f} s"
    )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
