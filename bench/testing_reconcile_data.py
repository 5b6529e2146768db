"""Generate the reconciliation benchmark's round in a dedicated PostgreSQL database (used by testing_reconcile.py).

10,000,000 residents of one city (10 counties × 10 streets × 20 communities, 5,000 residents each) plus 300,000
people registered in another city who were sampled there as visitors; one open mass-testing round over the city
with 1,000,000 ten-person tubes (10,000,000 samples: 9,700,000 residents, 300,000 visitors); 100,000
exemptions (infants, bedridden, away: a third each); a result for every tube, 100 of them positive.
Residents whose (id - 1) % 100 is 0, 1 or 2 were not sampled: 300,000, of whom 100,000 are exempt.

Rows are generated inside PostgreSQL (INSERT … SELECT generate_series): no Python per row, and no rows over
the wire. Foreign-key triggers are skipped while loading (session_replication_role = replica, the benchmark
database only); every index and constraint the migrations create stays in place.
"""

# ruff: noqa: S608 - SQL assembled from the module's own constants
from __future__ import annotations

import time

import psycopg

CITY = "4103"
COUNTIES, STREETS, COMMUNITIES = 10, 10, 20
PER_COMMUNITY = 5_000
RESIDENTS = COUNTIES * STREETS * COMMUNITIES * PER_COMMUNITY  # 10,000,000
VISITORS = 300_000
TUBES = 1_000_000
POOL = 10
ROUND_START = "2022-04-02 00:00:00+08"

STEPS: list[tuple[str, str]] = [
    (
        "divisions",
        f"""
        INSERT INTO core_division (code, path, name, level, parent_id)
        VALUES ('410000', '41', 'province', 'province', NULL);
        INSERT INTO core_division (code, path, name, level, parent_id)
        SELECT c || '00', c, 'city ' || c, 'city', (SELECT id FROM core_division WHERE path = '41')
        FROM (VALUES ('{CITY}'), ('4104')) AS v(c);
        INSERT INTO core_division (code, path, name, level, parent_id)
        SELECT p, p, 'county ' || p, 'county', (SELECT id FROM core_division WHERE path = '{CITY}')
        FROM (SELECT '{CITY}' || lpad((k + 2)::text, 2, '0') AS p FROM generate_series(0, {COUNTIES - 1}) k) s;
        INSERT INTO core_division (code, path, name, level, parent_id)
        SELECT c.path || lpad((k + 1)::text, 3, '0'), c.path || lpad((k + 1)::text, 3, '0'), 'street', 'street', c.id
        FROM core_division c CROSS JOIN generate_series(0, {STREETS - 1}) k WHERE c.level = 'county';
        INSERT INTO core_division (code, path, name, level, parent_id)
        SELECT s.path || lpad((k + 1)::text, 3, '0'), s.path || lpad((k + 1)::text, 3, '0'), 'community',
               'community', s.id
        FROM core_division s CROSS JOIN generate_series(0, {COMMUNITIES - 1}) k WHERE s.level = 'street';
        INSERT INTO core_division (code, path, name, level, parent_id)
        VALUES ('410402', '410402', 'elsewhere county', 'county', (SELECT id FROM core_division WHERE path = '4104'));
        INSERT INTO core_division (code, path, name, level, parent_id)
        VALUES ('410402001', '410402001', 'elsewhere street', 'street',
                (SELECT id FROM core_division WHERE path = '410402'));
        INSERT INTO core_division (code, path, name, level, parent_id)
        VALUES ('410402001001', '410402001001', 'elsewhere', 'community',
                (SELECT id FROM core_division WHERE path = '410402001'));
        CREATE TEMP TABLE communities AS
        SELECT row_number() OVER (ORDER BY path) - 1 AS n, path FROM core_division
        WHERE level = 'community' AND path LIKE '{CITY}%';
        CREATE UNIQUE INDEX ON communities (n);
        ANALYZE communities;
        """,
    ),
    (
        "residents and visitors",
        f"""
        INSERT INTO people_person (id, name, pinyin, sex, birth_date, phone, phone_tail, primary_document_kind,
            primary_document_number, address, created_at, updated_at, home_division_path, merged_into_id,
            class_key, household_key, workplace_key)
        SELECT g, 'P' || g, '', CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END,
               DATE '1940-01-01' + (g % 29000)::int, '', '', 'resident_id', lpad(g::text, 18, '0'), '', now(),
               now(), CASE WHEN g <= {RESIDENTS} THEN c.path ELSE '410402001001' END, NULL, '', '', ''
        FROM generate_series(1, {RESIDENTS + VISITORS}) g
        LEFT JOIN communities c ON c.n = (g - 1) / {PER_COMMUNITY} AND g <= {RESIDENTS};
        SELECT setval(pg_get_serial_sequence('people_person', 'id'), {RESIDENTS + VISITORS});
        """,
    ),
    (
        "round, lab, sites",
        f"""
        INSERT INTO testing_testround (id, name, starts_at, ends_at, pool_size, receipt_target_hours,
            result_target_hours, completion_target_hours, status, edition_id, created_at, created_by_id,
            division_path)
        VALUES (1, 'bench round', TIMESTAMPTZ '{ROUND_START}', TIMESTAMPTZ '{ROUND_START}' + interval '2 days', 10,
                6, 12, 24, 'open', '', now(), NULL, '{CITY}');
        SELECT setval(pg_get_serial_sequence('testing_testround', 'id'), 1);
        INSERT INTO core_organization (id, name, kind, division_path) VALUES (1000001, 'bench lab', 'lab', '{CITY}');
        INSERT INTO testing_samplingsite (id, name, kind, hourly_capacity, address, is_active, created_at,
            division_path)
        SELECT n + 1, 'site ' || n, 'fixed', 300, '', true, now(), path FROM communities;
        INSERT INTO testing_samplingsite (id, name, kind, hourly_capacity, address, is_active, created_at,
            division_path)
        VALUES ({COUNTIES * STREETS * COMMUNITIES + 1}, 'visitors site', 'fixed', 300, '', true, now(),
                (SELECT path FROM communities WHERE n = 0));
        SELECT setval(pg_get_serial_sequence('testing_samplingsite', 'id'), {COUNTIES * STREETS * COMMUNITIES + 1});
        """,
    ),
    (
        "sample→person map",
        # Sample s (0-based) is the k-th sampled resident while s < 9,700,000 (residents with (id-1) % 100 >= 3,
        # in id order), else a visitor; tube = s / 10 + 1. Sampling times are spread over 36 hours by a
        # multiplicative permutation, so every county progresses through the round, not one after another.
        f"""
        CREATE UNLOGGED TABLE bench_slots AS
        SELECT s, s / {POOL} + 1 AS tube_id,
               CASE WHEN s < 9700000 THEN (s / 97) * 100 + 3 + s % 97 + 1
                    ELSE {RESIDENTS} + 1 + (s - 9700000) END AS person_id,
               TIMESTAMPTZ '{ROUND_START}' + ((s::bigint * 7919) % {TUBES * POOL}) * interval '12.96 milliseconds'
                   AS sampled_at
        FROM generate_series(0, {TUBES * POOL - 1}) s;
        """,
    ),
    (
        "tubes",
        f"""
        INSERT INTO testing_tube (id, barcode, capacity, sample_count, is_retest, status, opened_at, closed_at,
            handed_over_at, received_at, resulted_at, division_path, lab_id, round_id, site_id)
        SELECT t.tube_id, 'T' || lpad(t.tube_id::text, 10, '0'), {POOL}, {POOL}, false, 'resulted', t.first_at,
               t.last_at, t.last_at + interval '1 hour', t.last_at + interval '3 hours',
               t.last_at + interval '8 hours', site.division_path, 1000001, 1, site.id
        FROM (
            SELECT tube_id, min(sampled_at) AS first_at, max(sampled_at) AS last_at, min(person_id) AS first_person
            FROM bench_slots GROUP BY tube_id
        ) t
        JOIN testing_samplingsite site
          ON site.id = CASE WHEN t.first_person <= {RESIDENTS} THEN (t.first_person - 1) / {PER_COMMUNITY} + 1
                            ELSE {COUNTIES * STREETS * COMMUNITIES + 1} END;
        SELECT setval(pg_get_serial_sequence('testing_tube', 'id'), {TUBES});
        """,
    ),
    (
        "samples",
        """
        INSERT INTO testing_sample (id, purpose, is_duplicate, sampled_at, device_id, idempotency_key, recorded_at,
            division_path, person_id, recorded_by_id, sampler_id, site_id, round_id, tube_id)
        SELECT b.s + 1, 'round', false, b.sampled_at, '', '', b.sampled_at, t.division_path, b.person_id, NULL,
               NULL, t.site_id, 1, b.tube_id
        FROM bench_slots b JOIN testing_tube t ON t.id = b.tube_id;
        SELECT setval(pg_get_serial_sequence('testing_sample', 'id'), (SELECT max(id) FROM testing_sample));
        """,
    ),
    (
        "results",
        f"""
        INSERT INTO testing_tuberesult (id, result, ct_orf1ab, ct_n, resulted_at, recorded_at, division_path, lab_id,
            recorded_by_id, result_import_id, tube_id)
        SELECT id, CASE WHEN id % 10000 = 17 THEN 'positive' ELSE 'negative' END,
               CASE WHEN id % 10000 = 17 THEN 28.5 END, CASE WHEN id % 10000 = 17 THEN 30.1 END,
               resulted_at, resulted_at, division_path, 1000001, NULL, NULL, id
        FROM testing_tube;
        SELECT setval(pg_get_serial_sequence('testing_tuberesult', 'id'), {TUBES});
        """,
    ),
    (
        "exemptions",
        f"""
        INSERT INTO testing_exemption (reason, note, created_at, created_by_id, division_path, person_id, round_id)
        SELECT (ARRAY['infant', 'bedridden', 'away'])[((g - 1) / 100) % 3 + 1], '', now(), NULL,
               p.home_division_path, g, 1
        FROM generate_series(1, {RESIDENTS}, 100) g JOIN people_person p ON p.id = g;
        DROP TABLE bench_slots;
        """,
    ),
    ("analyze", "ANALYZE"),
    # the visibility map, for index-only scans (autovacuum's work in operation; testing_reconcile.py repeats it)
    ("vacuum", "VACUUM (ANALYZE) people_person, testing_sample"),
]


def generate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET session_replication_role = replica")
        connection.execute("SET maintenance_work_mem = '512MB'")
        for name, sql in STEPS:
            started = time.perf_counter()
            connection.execute(sql.encode())
            print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)


def is_generated(url: str) -> bool:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM testing_tube").fetchone()
        return bool(row and row[0] == TUBES)
