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
    last: dict[str, Any] = {"message": "", "at": time.perf_counter(), "cpu": time.process_time()}

    def progress(done: int, total: int, message: str) -> None:
        now, cpu_now = time.perf_counter(), time.process_time()
        if message != last["message"]:
            if last["message"]:
                key = str(last["message"])
                phases[key] = phases.get(key, 0) + now - float(last["at"])
                cpu_phases[key] = cpu_phases.get(key, 0) + cpu_now - float(last["cpu"])
            last["message"], last["at"], last["cpu"] = message, now, cpu_now

    start, cpu_start = time.perf_counter(), time.process_time()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    result = services.import_list(list_import, mapping=mapping, by=None, progress=progress)
    if os.environ.get("BENCH_PROFILE"):
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(45)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    progress(0, 0, "end")
    print(f"imported: {result.as_dict()}")
    for name, seconds in phases.items():
        print(f"  {name[:40]:40s} {seconds:6.1f} s  (CPU of this process {cpu_phases.get(name, 0):6.1f} s)")
    print(f"import_list: {elapsed:.1f} s for {args.rows:,} rows ({args.rows / elapsed:,.0f} rows/s); CPU {cpu:.1f} s")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
