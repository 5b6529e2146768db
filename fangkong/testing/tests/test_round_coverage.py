"""Round coverage on the platform: extract from the database, the engine's query, results stored per community.

Rows are built as plain rows (a round's samples, tubes and results); the reconciliation reads them only.
Runs on SQLite (cursor extraction) and, in CI's PostgreSQL run, through the packed-chunk extraction.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

import pyarrow as pa
import pytest
from django.db import connection, transaction

from fangkong.core.models import AuditEntry, Organization, OrganizationKind
from fangkong.core.roles import Role
from fangkong.engine.coverage import INPUT_SCHEMAS
from fangkong.testing.coverage import extract, selectors
from fangkong.testing.coverage.models import CommunityCoverage, RoundCoverageRun, UncoveredKind, UncoveredPerson
from fangkong.testing.coverage.services import reconcile_round_coverage, start_round_coverage
from fangkong.testing.models import (
    Exemption,
    Recall,
    RecallMember,
    ResultValue,
    Sample,
    SamplingSite,
    TestRound,
    Tube,
    TubeResult,
    TubeStatus,
)

START = dt.datetime(2022, 4, 2, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(tree: dict[str, Any], register: Any) -> dict[str, Any]:
    """Community a: 6 residents, b: 3, c (other county): 2; a round over the city, 10-person tubes."""
    phones = iter(range(13900000001, 13900000100))
    people = {
        where: [register(where, name=f"居民{where}{i}", phone=str(next(phones))) for i in range(n)]
        for where, n in (("a", 6), ("b", 3), ("c", 2))
    }
    outsider = register("c", name="外来", phone=str(next(phones)))
    test_round = TestRound.objects.create(
        division=tree["city"], name="第一轮", starts_at=START, ends_at=START + dt.timedelta(days=1), pool_size=10
    )
    site = SamplingSite.objects.create(division=tree["a"], name="东社区采样点")
    lab = Organization.objects.create(name="检测所", kind=OrganizationKind.LAB, division=tree["city"])
    tubes = [
        Tube.objects.create(
            barcode=f"T00000{i}", round=test_round, site=site, division=tree["a"], capacity=10, opened_at=START
        )
        for i in range(2)
    ]

    def sample(person: Any, tube: Tube, minutes: int, **extra: Any) -> Sample:
        tube.sample_count += 1
        tube.save(update_fields=["sample_count"])
        return Sample.objects.create(
            person=person,
            tube=tube,
            round=test_round,
            site=site,
            division=tree["a"],
            sampled_at=START + dt.timedelta(minutes=minutes),
            **extra,
        )

    # a0..a3 tested (a0 twice: the second is a flagged duplicate), b0 tested, c0 tested 2 hours in
    for index, person in enumerate(people["a"][:4]):
        sample(person, tubes[0], 10 + index)
    sample(people["a"][0], tubes[1], 50, is_duplicate=True)
    sample(people["b"][0], tubes[1], 70)
    first_c = sample(people["c"][0], tubes[1], 130)
    # exemptions: a4 bedridden (door to door), a5 infant, b1 away, c1 other (a reason written down); b2 untested
    Exemption.objects.create(person=people["a"][4], round=test_round, division=tree["a"], reason="bedridden")
    Exemption.objects.create(person=people["a"][5], round=test_round, division=tree["a"], reason="infant")
    Exemption.objects.create(person=people["b"][1], round=test_round, division=tree["b"], reason="away")
    Exemption.objects.create(
        person=people["c"][1], round=test_round, division=tree["c"], reason="other", note="在外地住院"
    )
    # tube 1 positive; its recall lists b0 only (c0 is missing from the recall list)
    tubes[1].status = TubeStatus.RESULTED
    tubes[1].save(update_fields=["status"])
    result = TubeResult.objects.create(
        tube=tubes[1], lab=lab, division=tree["a"], result=ResultValue.POSITIVE, resulted_at=START
    )
    recall = Recall.objects.create(
        tube=tubes[1], tube_result=result, round=test_round, division=tree["a"], created_at=START
    )
    b0_sample = Sample.objects.get(person=people["b"][0])
    RecallMember.objects.create(recall=recall, person=people["b"][0], sample=b0_sample, division=tree["b"])
    RecallMember.objects.create(
        recall=recall,
        person=people["a"][0],
        sample=Sample.objects.get(person=people["a"][0], is_duplicate=True),
        division=tree["a"],
    )
    return {"round": test_round, "people": people, "outsider": outsider, "first_c": first_c, "tree": tree}


def test_extraction_reads_the_round_only(world: dict[str, Any]) -> None:
    data = {name: table for name, table in extract.extract_round(world["round"]).sources().items()}
    assert all(isinstance(table, pa.Table) for table in data.values())
    tables = typing.cast(dict[str, pa.Table], data)
    assert tables["residents"].num_rows == 12
    assert tables["samples"].num_rows == 6  # the duplicate is left out
    people = world["people"]
    assert sorted((row["person_id"], row["reason"]) for row in tables["exemptions"].to_pylist()) == sorted(
        [
            (people["a"][4].pk, "bedridden"),
            (people["a"][5].pk, "infant"),
            (people["b"][1].pk, "away"),
            (people["c"][1].pk, "other"),
        ]
    )
    assert tables["exemptions"].schema == INPUT_SCHEMAS["exemptions"]
    assert set(tables["areas"]["county"].to_pylist()) == {410302, 410303}
    sampled = tables["samples"].to_pylist()
    c0 = next(row for row in sampled if row["person_id"] == world["people"]["c"][0].pk)
    assert c0["sampled_at"] == START + dt.timedelta(minutes=130)


def test_reconciliation_stores_counts_lists_and_progress(world: dict[str, Any]) -> None:
    done = reconcile_round_coverage(world["round"], by=None)
    run = RoundCoverageRun.objects.get(pk=done.run.pk)
    assert tuple(getattr(run, field) for field in run.COUNT_FIELDS) == (12, 6, 2, 1, 1, 1, 1)
    assert round(run.coverage_percent, 1) == round(100 * 6 / (12 - 3), 1)  # infants, away and other are excused
    counts = {
        row.division_id: (row.residents, row.tested, row.untested, row.door_to_door)
        for row in CommunityCoverage.objects.filter(run=run)
    }
    assert counts == {"410302001001": (6, 4, 0, 1), "410302001002": (3, 1, 1, 0), "410303001201": (3, 1, 1, 0)}
    people = world["people"]
    untested = set(
        UncoveredPerson.objects.filter(round=run.round, kind=UncoveredKind.UNTESTED).values_list(
            "person_id", "division_id"
        )
    )
    assert untested == {
        (people["b"][2].pk, "410302001002"),
        (world["outsider"].pk, "410303001201"),
    }
    door = list(
        UncoveredPerson.objects.filter(round=run.round, kind=UncoveredKind.DOOR_TO_DOOR).values_list(
            "person_id", flat=True
        )
    )
    assert door == [people["a"][4].pk]
    assert run.hourly == {
        "410302": [["2022-04-02T00:00:00+00:00", 4], ["2022-04-02T01:00:00+00:00", 1]],
        "410303": [["2022-04-02T02:00:00+00:00", 1]],
    }
    # tube T000001 holds a0's flagged second swab, b0 and c0: all three recalled; c0 is on no recall list
    assert run.recall_people == 3
    tube = Tube.objects.get(barcode="T000001")
    assert run.recall_not_listed == [{"tube": tube.pk, "person": people["c"][0].pk}]
    assert set(run.timings) >= {"extract", "engine", "store"}
    assert AuditEntry.objects.filter(action="testing.round_coverage").count() == 1


def test_a_second_run_replaces_the_lists(world: dict[str, Any], make_user: Any) -> None:
    first = reconcile_round_coverage(world["round"], by=None).run
    kept = UncoveredPerson.objects.get(person=world["outsider"], kind=UncoveredKind.UNTESTED)
    Sample.objects.create(
        person=world["people"]["b"][2],
        tube=Tube.objects.get(barcode="T000000"),
        round=world["round"],
        site=SamplingSite.objects.get(),
        division=world["tree"]["a"],
        sampled_at=START + dt.timedelta(hours=3),
    )
    second = reconcile_round_coverage(world["round"], by=None).run
    assert second.untested == 1
    assert RoundCoverageRun.objects.filter(round=world["round"]).count() == 2
    # b2 has left the list; the outsider's row stays as the first run wrote it (a run writes the difference)
    city = make_user(Role.CITY_HQ, "city")
    untested = selectors.uncovered_people(city, second, kind=UncoveredKind.UNTESTED)
    assert [(row.pk, row.person_id, row.run_id) for row in untested] == [(kept.pk, world["outsider"].pk, first.pk)]
    assert not selectors.uncovered_people(city, first, kind=UncoveredKind.UNTESTED).exists()  # not the latest run


def test_only_managers_start_the_job(world: dict[str, Any], make_user: Any) -> None:
    from fangkong.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        start_round_coverage(world["round"], by=make_user(Role.COMMUNITY_WORKER, "a"))
    job = start_round_coverage(world["round"], by=make_user(Role.CITY_HQ, "city"))
    assert job.kind == "testing.round_coverage"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_packed_extraction_equals_the_cursor_reading(world: dict[str, Any], workers: int) -> None:
    """The PostgreSQL path (packed index-only reads, on two connections in one snapshot) gives the cursor's rows."""
    assert connection.vendor == "postgresql"
    residents, samples = extract.round_queries(world["round"])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        packed = extract._pg_extract(world["round"], workers=workers)
    order = ["person_id", "division"]
    assert (
        packed[0]
        .sort_by([(c, "ascending") for c in order])
        .equals(extract._read_cursor(residents).sort_by([(c, "ascending") for c in order]))
    )
    order = ["person_id", "sampled_at"]
    assert (
        packed[1]
        .sort_by([(c, "ascending") for c in order])
        .equals(extract._read_cursor(samples).sort_by([(c, "ascending") for c in order]))
    )


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_the_covering_indexes_hold_what_the_extraction_reads() -> None:
    """The packed reads are index-only scans (the benchmark shows the plans): the two indexes must keep every
    column the reads use. Small test tables are planned otherwise, so the definitions are checked here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE indexname IN ('person_home_live_idx', 'sample_person_once_per_round')"
        )
        definitions = dict(cursor.fetchall())
    assert "(home_division_path, id) WHERE (merged_into_id IS NULL)" in definitions["person_home_live_idx"]
    assert "UNIQUE INDEX" in definitions["sample_person_once_per_round"]
    assert "(round_id, person_id) INCLUDE (sampled_at)" in definitions["sample_person_once_per_round"]


def test_coverage_page_shows_the_users_communities_masked(
    world: dict[str, Any], make_user: Any, client: Any, django_assert_max_num_queries: Any
) -> None:
    reconcile_round_coverage(world["round"], by=None)
    client.force_login(make_user(Role.COMMUNITY_WORKER, "b"))
    url = f"/testing/rounds/{world['round'].pk}/coverage/"
    with django_assert_max_num_queries(20):
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="coverage-row-410302001002"' in html
    assert "coverage-row-410302001001" not in html  # community a is not theirs
    b2 = world["people"]["b"][2]
    assert f'data-testid="untested-person-{b2.pk}"' in html
    assert f'data-testid="untested-person-{world["people"]["c"][1].pk}"' not in html
    assert b2.phone not in html and b2.masked_phone in html
    assert 'data-testid="coverage-run"' not in html  # community workers cannot start a run


def test_manager_reconciles_from_the_page(
    world: dict[str, Any], make_user: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(make_user(Role.CITY_HQ, "city"))
    url = f"/testing/rounds/{world['round'].pk}/coverage/"
    assert 'data-testid="coverage-none"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/testing/rounds/{world['round'].pk}/coverage/run/")
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert 'data-testid="coverage-untested">2<' in html
    assert 'id="hourly-data"' in html


def test_a_round_elsewhere_is_not_found(world: dict[str, Any], make_user: Any, client: Any, tree: Any) -> None:
    elsewhere = TestRound.objects.create(
        division=tree["c"], name="别处", starts_at=START, ends_at=START + dt.timedelta(days=1)
    )
    client.force_login(make_user(Role.COMMUNITY_WORKER, "a"))
    assert client.get(f"/testing/rounds/{elsewhere.pk}/coverage/").status_code == 404
