"""Incremental round coverage (testing.coverage.incremental) is exact: after any changes to the registry and the
samples — by the ORM, bulk inserts, queryset updates and raw SQL, since the change log is kept by database
triggers — a warm run's result equals a cold extraction's, and the stored lists equal the result's.

Runs on SQLite and, in CI's PostgreSQL run, on PostgreSQL (the transaction-id watermark)."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from itertools import count
from typing import Any

import pyarrow as pa
import pytest
from django.db import connection

from fangkong.engine.coverage import RoundCoverage, reconcile_round
from fangkong.people.models import Person
from fangkong.testing.coverage import extract, incremental
from fangkong.testing.coverage.models import CoverageChange, CoverageSnapshot, UncoveredKind, UncoveredPerson
from fangkong.testing.coverage.services import reconcile_round_coverage
from fangkong.testing.models import Exemption, RoundStatus, Sample, SamplePurpose, SamplingSite, TestRound, Tube

START = dt.datetime(2022, 4, 2, 0, 0, tzinfo=dt.UTC)
COMMUNITIES = ("a", "b", "c")  # a, b in county 410302; c in county 410303

_names = count(1)


@pytest.fixture
def world(tree: dict[str, Any]) -> dict[str, Any]:
    """30 people in communities a, b, c; a round over the city and one over county 410302, each with a tube;
    two thirds of the people sampled in the city round, a third in the county round."""
    site = SamplingSite.objects.create(division=tree["a"], name="采样点")
    rounds, tubes = [], {}
    for division in (tree["city"], tree["county"]):
        test_round = TestRound.objects.create(
            division=division, name=f"轮次{division.path}", starts_at=START, ends_at=START + dt.timedelta(days=1)
        )
        rounds.append(test_round)
        tubes[test_round.pk] = Tube.objects.create(
            barcode=f"T{test_round.pk}", round=test_round, site=site, division=tree["a"], capacity=10, opened_at=START
        )
    world = {"tree": tree, "site": site, "rounds": rounds, "tubes": tubes}
    people = [_person(world, COMMUNITIES[i % 3]) for i in range(30)]
    for index, person in enumerate(people):
        if index % 3:
            _sample(world, rounds[0], person, minutes=index)
        if index % 3 == 1:
            _sample(world, rounds[1], person, minutes=60 + index)
    Exemption.objects.create(person=people[0], round=rounds[0], division=tree["a"], reason="bedridden")
    return world


def _person(world: dict[str, Any], where: str) -> Person:
    return Person.objects.create(name=f"居民{next(_names)}", home_division=world["tree"][where])


def _sample(world: dict[str, Any], test_round: TestRound, person: Person, *, minutes: int, **extra: Any) -> Sample:
    return Sample.objects.create(**_sample_fields(world, test_round, person, minutes=minutes, **extra))


def _sample_fields(
    world: dict[str, Any], test_round: TestRound, person: Person, *, minutes: int, **extra: Any
) -> dict[str, Any]:
    return {
        "person": person,
        "tube": world["tubes"][test_round.pk],
        "round": test_round,
        "site": world["site"],
        "division": world["tree"]["a"],
        "sampled_at": START + dt.timedelta(minutes=minutes),
        **extra,
    }


# Changes, each picked at random: every way the registry and the samples are written


def _live(rng: random.Random) -> Person:
    return rng.choice(list(Person.objects.filter(merged_into=None)))


def _unsampled(rng: random.Random, test_round: TestRound) -> Person | None:
    sampled = Sample.objects.filter(round=test_round, purpose=SamplePurpose.ROUND, is_duplicate=False)
    candidates = list(Person.objects.exclude(pk__in=sampled.values("person_id")))
    return rng.choice(candidates) if candidates else None


def _round_sample(rng: random.Random, test_round: TestRound) -> Sample | None:
    samples = list(Sample.objects.filter(round=test_round))
    return rng.choice(samples) if samples else None


def add_people(rng: random.Random, world: dict[str, Any]) -> None:
    for _ in range(rng.randint(1, 3)):
        _person(world, rng.choice(COMMUNITIES))


def move_person(rng: random.Random, world: dict[str, Any]) -> None:
    person = _live(rng)
    person.home_division = world["tree"][rng.choice(COMMUNITIES)]
    person.save()


def move_person_by_sql(rng: random.Random, world: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET home_division_path = %s WHERE id = %s",
            [world["tree"][rng.choice(COMMUNITIES)].path, _live(rng).pk],
        )


def merge_people(rng: random.Random, world: dict[str, Any]) -> None:
    duplicate, kept = _live(rng), _live(rng)
    if duplicate.pk != kept.pk:
        Person.objects.filter(pk=duplicate.pk).update(merged_into=kept)


def undo_a_merge(rng: random.Random, world: dict[str, Any]) -> None:
    merged = list(Person.objects.exclude(merged_into=None))
    if merged:
        person = rng.choice(merged)
        person.merged_into = None
        person.save(update_fields=["merged_into"])


def delete_person(rng: random.Random, world: dict[str, Any]) -> None:
    free = (
        Person.objects.filter(samples=None)
        .exclude(pk__in=Exemption.objects.values("person_id"))
        .exclude(pk__in=Person.objects.exclude(merged_into=None).values("merged_into_id"))
    )
    people = list(free)
    if people:
        rng.choice(people).delete()


def rename_person(rng: random.Random, world: dict[str, Any]) -> None:
    Person.objects.filter(pk=_live(rng).pk).update(name="改名")  # not a change the coverage sees


def add_sample(rng: random.Random, world: dict[str, Any]) -> None:
    test_round = rng.choice(world["rounds"])
    if person := _unsampled(rng, test_round):
        _sample(world, test_round, person, minutes=rng.randint(0, 600))


def add_samples_in_bulk(rng: random.Random, world: dict[str, Any]) -> None:
    test_round = rng.choice(world["rounds"])
    people = {person.pk: person for person in (_unsampled(rng, test_round) for _ in range(3)) if person}
    Sample.objects.bulk_create(
        [Sample(**_sample_fields(world, test_round, person, minutes=rng.randint(0, 600))) for person in people.values()]
    )


def add_second_swab(rng: random.Random, world: dict[str, Any]) -> None:
    if sample := _round_sample(rng, rng.choice(world["rounds"])):
        _sample(world, sample.round, sample.person, minutes=rng.randint(0, 600), is_duplicate=True)


def add_retest(rng: random.Random, world: dict[str, Any]) -> None:
    _sample(world, rng.choice(world["rounds"]), _live(rng), minutes=5, purpose=SamplePurpose.RETEST)


def delete_sample(rng: random.Random, world: dict[str, Any]) -> None:
    if sample := _round_sample(rng, rng.choice(world["rounds"])):
        sample.delete()


def retime_sample(rng: random.Random, world: dict[str, Any]) -> None:
    if sample := _round_sample(rng, rng.choice(world["rounds"])):
        Sample.objects.filter(pk=sample.pk).update(sampled_at=START + dt.timedelta(minutes=rng.randint(0, 900)))


def flag_as_duplicate(rng: random.Random, world: dict[str, Any]) -> None:
    if sample := _round_sample(rng, rng.choice(world["rounds"])):
        sample.is_duplicate = True
        sample.save()


def give_sample_to_another_person(rng: random.Random, world: dict[str, Any]) -> None:
    sample = _round_sample(rng, rng.choice(world["rounds"]))
    if sample is not None and (person := _unsampled(rng, sample.round)):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE testing_sample SET person_id = %s WHERE id = %s", [person.pk, sample.pk])


def exempt_someone(rng: random.Random, world: dict[str, Any]) -> None:
    test_round = rng.choice(world["rounds"])
    person = _live(rng)
    if not Exemption.objects.filter(round=test_round, person=person).exists():
        Exemption.objects.create(
            person=person, round=test_round, division=world["tree"]["a"], reason=rng.choice(["infant", "bedridden"])
        )


CHANGES: list[Callable[[random.Random, dict[str, Any]], None]] = [
    add_people,
    move_person,
    move_person_by_sql,
    merge_people,
    undo_a_merge,
    delete_person,
    rename_person,
    add_sample,
    add_samples_in_bulk,
    add_second_swab,
    add_retest,
    delete_sample,
    retime_sample,
    flag_as_duplicate,
    give_sample_to_another_person,
    exempt_someone,
]


def _cold(test_round: TestRound) -> RoundCoverage:
    return reconcile_round(extract.extract_round(test_round))


def _assert_equal(warm: RoundCoverage, cold: RoundCoverage) -> None:
    for name in ("coverage", "untested", "door_to_door", "hourly", "recall"):
        left, right = getattr(warm, name), getattr(cold, name)
        keys = [(column, "ascending") for column in left.column_names]
        assert left.sort_by(keys).equals(right.sort_by(keys)), name


def _warm_run(test_round: TestRound) -> Any:
    """A reconciliation that must take the warm path and agree with a cold extraction; returns it."""
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "warm"
    _assert_equal(done.result, _cold(test_round))
    return done


def _assert_stored(test_round: TestRound, result: RoundCoverage) -> None:
    for kind, table in ((UncoveredKind.UNTESTED, result.untested), (UncoveredKind.DOOR_TO_DOOR, result.door_to_door)):
        stored = set(UncoveredPerson.objects.filter(round=test_round, kind=kind).values_list("person_id", "division"))
        assert stored == {(row["person_id"], str(row["division"])) for row in table.to_pylist()}, kind


@pytest.mark.parametrize("seed", range(6))
def test_warm_runs_equal_cold_ones_after_any_changes(world: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    for test_round in world["rounds"]:
        first = reconcile_round_coverage(test_round, by=None)
        assert first.run.timings["path"] == "cold"
        _assert_equal(first.result, _cold(test_round))
    for step in range(5):
        for _ in range(rng.randint(1, 6)):
            rng.choice(CHANGES)(rng, world)
        if step == 2:  # a new round opens while the others run: its first run is cold
            world["rounds"].append(
                TestRound.objects.create(
                    division=world["tree"]["county"],
                    name="新一轮",
                    starts_at=START,
                    ends_at=START + dt.timedelta(days=1),
                )
            )
            new_round = world["rounds"][-1]
            world["tubes"][new_round.pk] = Tube.objects.create(
                barcode=f"T{new_round.pk}",
                round=new_round,
                site=world["site"],
                division=world["tree"]["a"],
                capacity=10,
                opened_at=START,
            )
            assert reconcile_round_coverage(new_round, by=None).run.timings["path"] == "cold"
        for test_round in world["rounds"]:
            done = _warm_run(test_round)
            _assert_stored(test_round, done.result)


def test_a_doubtful_snapshot_is_not_used(world: dict[str, Any]) -> None:
    """Missing files, a token the database did not record (a restored database, a failed run) or a different
    area: the run extracts everything again, and its result is still the cold one."""
    test_round = world["rounds"][0]
    reconcile_round_coverage(test_round, by=None)
    CoverageSnapshot.objects.filter(round=test_round).update(token="restored")
    add_sample(random.Random(1), world)
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "cold"
    _assert_equal(done.result, _cold(test_round))

    (incremental.snapshot_directory(test_round) / "manifest.json").unlink()
    assert reconcile_round_coverage(test_round, by=None).run.timings["path"] == "cold"
    assert reconcile_round_coverage(test_round, by=None).run.timings["path"] == "warm"

    test_round.division = world["tree"]["county"]
    test_round.save()
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "cold"
    _assert_equal(done.result, _cold(test_round))


def test_the_deltas_fold_into_a_new_base(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    test_round = world["rounds"][0]
    monkeypatch.setattr(incremental, "COMPACT_SHARE", 10.0)  # never fold
    reconcile_round_coverage(test_round, by=None)
    first = incremental.load_snapshot(test_round)
    assert first is not None
    person = _unsampled(random.Random(2), test_round)
    assert person is not None
    _sample(world, test_round, person, minutes=7)
    reconcile_round_coverage(test_round, by=None)
    second = incremental.load_snapshot(test_round)
    assert second is not None and second.files["base-samples"] == first.files["base-samples"]
    assert person.pk in second.delta["samples"]["person_id"].to_pylist()
    monkeypatch.setattr(incremental, "COMPACT_SHARE", 0.0)  # always fold
    add_sample(random.Random(3), world)
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "warm"
    third = incremental.load_snapshot(test_round)
    assert third is not None and third.files["base-samples"] != first.files["base-samples"]
    assert third.delta["samples"].num_rows == 0
    assert sorted(path.name for path in incremental.snapshot_directory(test_round).iterdir()) == sorted(
        ["manifest.json", *third.files.values()]
    )
    _assert_equal(done.result, _cold(test_round))
    cold_samples = extract.extract_round(test_round).samples
    assert isinstance(cold_samples, pa.Table)
    assert third.base["samples"].sort_by("person_id").equals(cold_samples.sort_by("person_id"))


def _prune_until_something_goes(live: list[TestRound]) -> int:
    """`prune_change_log`, retried on PostgreSQL until it deletes something: there it deletes only rows of
    transactions that had ended at the oldest live snapshot, and that snapshot's horizon is the whole server's
    oldest running transaction — another test process's open transaction can hold every row back for a moment.
    Each retry takes new snapshots (a run of every live round)."""
    deleted = incremental.prune_change_log()
    deadline = time.monotonic() + 30
    while deleted == 0 and connection.vendor == "postgresql" and time.monotonic() < deadline:
        time.sleep(0.2)
        for test_round in live:
            reconcile_round_coverage(test_round, by=None)
        deleted = incremental.prune_change_log()
    return deleted


@pytest.mark.django_db(transaction=True)  # PostgreSQL prunes only what committed before a snapshot
@pytest.mark.parametrize("seed", range(3))
def test_pruning_keeps_every_change_a_live_snapshot_still_needs(world: dict[str, Any], seed: int) -> None:
    """The log is pruned to what every live round's snapshot has seen: a round reconciled less often than the
    others still finds all its changes, and its warm runs stay equal to cold ones."""
    rng = random.Random(seed)
    for test_round in world["rounds"]:
        reconcile_round_coverage(test_round, by=None)
    deleted = 0
    for step in range(4):
        for _ in range(rng.randint(2, 6)):
            rng.choice(CHANGES)(rng, world)
        behind = world["rounds"][1] if step % 2 == 0 else None  # skipped every other step: its snapshot lags
        for test_round in world["rounds"]:
            if test_round != behind:
                _warm_run(test_round)
        deleted += incremental.prune_change_log()
    if deleted == 0:
        deleted = _prune_until_something_goes(world["rounds"])
    assert deleted > 0
    if connection.vendor != "postgresql":  # there, rows of transactions still open at a snapshot may stay
        oldest = min(incremental._manifest_watermark(r.pk).change_id for r in world["rounds"])  # type: ignore[union-attr]
        assert not CoverageChange.objects.filter(pk__lt=oldest).exists()
    for test_round in world["rounds"]:
        _warm_run(test_round)


@pytest.mark.django_db(transaction=True)  # PostgreSQL prunes only what committed before a snapshot
def test_a_snapshot_older_than_the_pruned_log_is_not_used(world: dict[str, Any]) -> None:
    """A closed round does not hold the log back; reopened, its snapshot predates what was pruned, so its next
    run extracts everything instead of missing the pruned changes."""
    city, county = world["rounds"]
    for test_round in world["rounds"]:
        reconcile_round_coverage(test_round, by=None)
    TestRound.objects.filter(pk=county.pk).update(status=RoundStatus.CLOSED)
    rng = random.Random(7)
    for _ in range(6):
        add_sample(rng, world)
        move_person(rng, world)
    reconcile_round_coverage(city, by=None)
    assert _prune_until_something_goes([city]) > 0
    TestRound.objects.filter(pk=county.pk).update(status=RoundStatus.OPEN)
    county.refresh_from_db()
    done = reconcile_round_coverage(county, by=None)
    assert done.run.timings["path"] == "cold"
    _assert_equal(done.result, _cold(county))
    assert reconcile_round_coverage(county, by=None).run.timings["path"] == "warm"


def test_the_change_log_triggers_are_installed(db: None) -> None:
    """A table rebuilt by a later migration (SQLite rebuilds a table to alter a column) loses its triggers: this
    fails until the migration installs them again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'coverage_log_%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'coverage_log_%'")
        assert len({name for (name,) in cursor.fetchall()}) == 6


def test_changes_are_logged_by_the_database(world: dict[str, Any]) -> None:
    """Registry changes that move a resident, with the home each leaves, and every change that can alter a round's
    counted samples: an insertion with its time (a warm run need not read it back), deletes and updates without
    one. A retest or a second swab changes nobody's coverage and is not logged."""
    before = max(CoverageChange.objects.values_list("pk", flat=True), default=0)
    person = Person.objects.filter(merged_into=None).first()
    assert person is not None
    test_round = world["rounds"][0]
    assert not Sample.objects.filter(round=test_round, person=person).exists()
    Person.objects.filter(pk=person.pk).update(name="只改名字")  # not watched
    assert not CoverageChange.objects.filter(pk__gt=before).exists()
    Person.objects.filter(pk=person.pk).update(home_division=world["tree"]["c"])
    _sample(world, test_round, person, minutes=1, purpose=SamplePurpose.RETEST)
    counted = _sample(world, test_round, person, minutes=2)
    _sample(world, test_round, person, minutes=3, is_duplicate=True)
    Sample.objects.filter(pk=counted.pk).update(sampled_at=START + dt.timedelta(minutes=4))
    counted.delete()
    other = Person.objects.exclude(pk=person.pk).first()
    assert other is not None
    Person.objects.filter(pk=person.pk).update(merged_into=other)
    newcomer = _person(world, "b").pk
    Person.objects.filter(pk=newcomer).delete()
    logged = list(
        CoverageChange.objects.filter(pk__gt=before)
        .order_by("pk")
        .values_list("person_id", "round_id", "sampled_at", "home")
    )
    assert logged == [
        (person.pk, None, None, world["tree"]["c"].path),  # moved: the home it leaves
        (person.pk, test_round.pk, START + dt.timedelta(minutes=2), None),
        (person.pk, test_round.pk, None, None),  # the update: old and new key
        (person.pk, test_round.pk, None, None),
        (person.pk, test_round.pk, None, None),  # the delete
        (person.pk, None, None, ""),  # merged away: no resident
        (newcomer, None, None, world["tree"]["b"].path),
        (newcomer, None, None, ""),  # deleted
    ]


def _delete(sample: Sample, world: dict[str, Any]) -> None:
    sample.delete()


def _retime(sample: Sample, world: dict[str, Any]) -> None:
    Sample.objects.filter(pk=sample.pk).update(sampled_at=START + dt.timedelta(hours=9))


def _flag(sample: Sample, world: dict[str, Any]) -> None:
    sample.is_duplicate = True
    sample.save()


def _give_away(sample: Sample, world: dict[str, Any]) -> None:
    other = _unsampled(random.Random(5), sample.round)
    assert other is not None
    Sample.objects.filter(pk=sample.pk).update(person=other)


def _to_retest(sample: Sample, world: dict[str, Any]) -> None:
    Sample.objects.filter(pk=sample.pk).update(purpose=SamplePurpose.RETEST)


def _to_other_round(sample: Sample, world: dict[str, Any]) -> None:
    Sample.objects.filter(pk=sample.pk).update(round=world["rounds"][1])


def _delete_and_sample_again(sample: Sample, world: dict[str, Any]) -> None:
    sample.delete()
    _sample(world, sample.round, sample.person, minutes=500)


@pytest.mark.parametrize(
    "change_again",
    [_delete, _retime, _flag, _give_away, _to_retest, _to_other_round, _delete_and_sample_again],
    ids=lambda change: change.__name__.strip("_"),
)
@pytest.mark.parametrize("between_runs", [False, True], ids=["same-run", "next-run"])
def test_an_inserted_sample_changed_again_is_read_back(
    world: dict[str, Any], change_again: Callable[..., None], between_runs: bool
) -> None:
    """The log gives an inserted sample's time, so a warm run takes it from there — unless the same key changed
    again since its snapshot: the sample deleted, retimed, flagged, given to another person, made a retest,
    moved to another round, or deleted and replaced. Each of those must be read back (between the same two
    runs as the insertion, or in the next run's window), and the run still equals a cold one."""
    test_round = world["rounds"][0]
    reconcile_round_coverage(test_round, by=None)
    person = _unsampled(random.Random(6), test_round)
    assert person is not None
    sample = _sample(world, test_round, person, minutes=30)
    if between_runs:
        done = reconcile_round_coverage(test_round, by=None)
        assert done.run.timings["path"] == "warm"
        assert person.pk not in done.result.untested["person_id"].to_pylist()
        _assert_equal(done.result, _cold(test_round))
    change_again(sample, world)
    done = _warm_run(test_round)
    _assert_stored(test_round, done.result)


def _move(person: Person, world: dict[str, Any], where: str) -> None:
    Person.objects.filter(pk=person.pk).update(home_division=world["tree"][where])


def _merge(person: Person, into: Person | None) -> None:
    Person.objects.filter(pk=person.pk).update(merged_into=into)


def _moved_twice(person: Person, world: dict[str, Any]) -> None:
    _move(person, world, "c")
    _move(person, world, "b")


def _moved_out_and_back(person: Person, world: dict[str, Any]) -> None:
    _move(person, world, "c")
    _move(person, world, "a")


def _moved_in_and_out(person: Person, world: dict[str, Any]) -> None:
    _move(person, world, "a")
    _move(person, world, "c")


def _merged_and_unmerged(person: Person, world: dict[str, Any]) -> None:
    _merge(person, Person.objects.exclude(pk=person.pk).first())
    _merge(person, None)


def _moved_then_merged(person: Person, world: dict[str, Any]) -> None:
    _move(person, world, "b")
    _merge(person, Person.objects.exclude(pk=person.pk).first())


def _registered_then_moved(person: Person, world: dict[str, Any]) -> None:
    _move(_person(world, "c"), world, "a")


def _registered_then_deleted(person: Person, world: dict[str, Any]) -> None:
    _person(world, "b").delete()


def _deleted(person: Person, world: dict[str, Any]) -> None:
    Sample.objects.filter(person=person).delete()
    Exemption.objects.filter(person=person).delete()
    person.delete()


REGISTRY_STORIES: list[Callable[[Person, dict[str, Any]], None]] = [
    _moved_twice,
    _moved_out_and_back,
    _moved_in_and_out,
    _merged_and_unmerged,
    _moved_then_merged,
    _registered_then_moved,
    _registered_then_deleted,
    _deleted,
]


@pytest.mark.parametrize("story", REGISTRY_STORIES, ids=lambda story: story.__name__.strip("_"))
def test_a_persons_newest_logged_change_is_their_state(
    world: dict[str, Any], story: Callable[[Person, dict[str, Any]], None]
) -> None:
    """The log gives a person's home as each change leaves it, and a warm run takes the newest: a person moved
    twice, out of a round's area and back, merged and unmerged, registered and moved or deleted, between two
    runs — each run equals a cold one (the city round and the county round, whose area c is outside of)."""
    for test_round in world["rounds"]:
        reconcile_round_coverage(test_round, by=None)
    person = Person.objects.filter(merged_into=None, home_division=world["tree"]["c"]).order_by("pk").first()
    assert person is not None
    story(person, world)
    for test_round in world["rounds"]:
        done = _warm_run(test_round)
        _assert_stored(test_round, done.result)


def _other_connection() -> Any:
    """A second PostgreSQL session on the test database (another writer, committing on its own)."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_newer_one_is_read(world: dict[str, Any]) -> None:
    """PostgreSQL takes log ids in insertion order but shows them in commit order: a writer that logged first and
    commits after a run has seen a later id must still be read by the next run (the snapshot watermark)."""
    test_round = world["rounds"][0]
    reconcile_round_coverage(test_round, by=None)
    early = Sample.objects.filter(round=test_round, is_duplicate=False).order_by("pk").first()
    assert early is not None
    with _other_connection() as other:
        other.execute("DELETE FROM testing_sample WHERE id = %s", [early.pk])  # logged, not committed
        add_sample(random.Random(4), world)  # logged after it, committed
        done = _warm_run(test_round)
        other.commit()
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "warm"
    # the deleted sample's person (not exempt in this round but person 0) is untested again
    assert early.person_id in done.result.untested["person_id"].to_pylist()
    _assert_equal(done.result, _cold(test_round))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_sample_inserted_before_a_newer_change_and_committed_after_it_is_read(world: dict[str, Any]) -> None:
    """The same for an insertion, which the log carries with its time: committed after a run has seen a later
    id, it is still taken (with that time) by the next run."""
    test_round = world["rounds"][0]
    reconcile_round_coverage(test_round, by=None)
    person = _unsampled(random.Random(8), test_round)
    assert person is not None
    tube = world["tubes"][test_round.pk]
    with _other_connection() as other:
        other.execute(  # logged with its time, not committed
            "INSERT INTO testing_sample (purpose, is_duplicate, sampled_at, device_id, idempotency_key, recorded_at,"
            " division_path, person_id, site_id, round_id, tube_id)"
            " VALUES ('round', false, %s, '', '', now(), %s, %s, %s, %s, %s)",
            [START + dt.timedelta(hours=7), tube.division_id, person.pk, world["site"].pk, test_round.pk, tube.pk],
        )
        retime_sample(random.Random(9), world)  # logged after it, committed
        done = _warm_run(test_round)
        other.commit()
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "warm"
    assert person.pk not in done.result.untested["person_id"].to_pylist()
    _assert_equal(done.result, _cold(test_round))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_move_committed_after_a_newer_change_is_read(world: dict[str, Any]) -> None:
    """The same for a move, which the log carries with the home it leaves: committed after a run has seen a later
    id, the next run takes the person's new home."""
    test_round = world["rounds"][1]  # the county round: community c is outside it
    reconcile_round_coverage(test_round, by=None)
    person = Person.objects.filter(merged_into=None, home_division=world["tree"]["c"]).order_by("pk").first()
    assert person is not None
    with _other_connection() as other:
        other.execute(  # logged with its new home, not committed
            "UPDATE people_person SET home_division_path = %s WHERE id = %s", [world["tree"]["a"].path, person.pk]
        )
        neighbour = Person.objects.exclude(pk=person.pk).first()
        assert neighbour is not None
        _move(neighbour, world, "b")  # logged after it, committed
        done = _warm_run(test_round)
        other.commit()
    done = reconcile_round_coverage(test_round, by=None)
    assert done.run.timings["path"] == "warm"
    assert person.pk in done.result.untested["person_id"].to_pylist()  # a resident of the county now, unsampled
    _assert_equal(done.result, _cold(test_round))


@pytest.mark.parametrize("changes", ["new keys only", "changed, removed and new keys"])
def test_a_delta_applies_to_its_base(changes: str) -> None:
    """The merge: the base without the delta's keys, plus the delta's rows that exist — whether or not a key of
    the base changed (when none did, the base is kept as it is)."""
    schema = incremental.INPUT_SCHEMAS["residents"]
    base = pa.table({"person_id": [1, 2, 3, 5], "division": [10, 20, 30, 50]}, schema=schema)
    rows = {"new keys only": [(4, 40), (7, None)], "changed, removed and new keys": [(2, 21), (3, None), (6, 60)]}
    delta = pa.table(
        {"person_id": [key for key, _ in rows[changes]], "division": [value for _, value in rows[changes]]},
        schema=schema,
    )
    expected = {key: value for key, value in zip(*base.to_pydict().values(), strict=True)}
    for key, value in rows[changes]:
        expected.pop(key, None)
        if value is not None:
            expected[key] = value
    merged = incremental.apply_delta(base, delta, "division")
    assert merged.schema == schema
    assert dict(zip(*merged.to_pydict().values(), strict=True)) == expected
    assert merged.num_rows == len(expected)
