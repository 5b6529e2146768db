"""The fast list writer (`core.bulk`: ids up front, executemany on SQLite, COPY on PostgreSQL) writes exactly
the rows the previous `bulk_create` writer wrote, on a small messy file against a registry that already has
people, a merged record and an open pool entry. Runs on whichever database the suite runs on; CI runs it on
both, and the PostgreSQL-only test below checks that COPY is really the path taken there."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, models, transaction

from fangkong.core import bulk
from fangkong.core.identity import make_resident_id
from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.people.models import MergeCandidate, Person, PersonDocument, PersonSource
from fangkong.people.services import PersonInput, confirm_merge, register_person
from fangkong.screening.imports import services, writing
from fangkong.screening.models import PoolEntry, PoolEvent, RiskReport
from fangkong.screening.services import list_person
from fangkong.screening.tests import reference_writing
from fangkong.screening.tests.test_imports import ID1, ID2, ID3, MESSY_ROWS, gbk_csv

ID4 = make_resident_id("410303", date(2001, 3, 4), 77)
ID5 = make_resident_id("410302", date(1960, 7, 8), 301)
ID6 = make_resident_id("410302", date(1977, 1, 2), 51)
ID7 = make_resident_id("410302", date(1988, 5, 5), 61)
ID8 = make_resident_id("410302", date(1989, 6, 6), 62)
NOW = datetime(2021, 8, 7, 2, 0, tzinfo=UTC)  # both runs list at the same moment, so deadlines compare
AUTO_TIMES = {"created_at", "updated_at", "received_at", "at"}

ROWS = [
    *MESSY_ROWS,  # full-width, grouped mobiles, dates in four shapes, an unlocated visitor, a repeat of row 1
    ["6", "钱 七", ID4, "+86 137-0000-1111", "郑州市金水区(410105)", "2021/8/5", "西工区王村8号"],
    ["7", "孙八", ID5, "", "广州市", "44412.5", ""],  # the registry's merged record: resolves to the survivor
    ["8", "周九", "", "13600001111", "", "", "东社区9号"],  # phone only, already in the registry
    ["9", "吴十", "", "13500002222", "北京市朝阳区(110105)", "2021-08-06 08:05", ""],  # phone only, new …
    ["10", "吴十", "", "135 0000 2222", "", "", "东社区"],  # … and the same person again
    ["11", "李四", ID2, "13922223333", "上海", "2021-08-02", ""],  # already open in the pool (close contact)
    ["12", "周九", ID6, "13600001111", "", "", "东社区"],  # a document, and the name and mobile of row 8's 周九
    ["13", "郑一", ID7, "13300003333", "", "", "西社区"],  # two resident IDs with one name and mobile …
    ["14", "郑一", ID8, "13300003333", "", "", "西社区"],  # … are two people: no merge candidate
]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def officer(tree: dict[str, Any]) -> User:
    return User.objects.create_user(username="importer", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def registry(tree: dict[str, Any], officer: User) -> None:
    """People the list meets: one open in the pool, one known by phone, and a merged pair."""

    def person(where: str, **fields: Any) -> Person:
        data = {"name": "张三", "document_number": None, "phone": None, **fields}
        return register_person(PersonInput(division=tree[where].path, **data), source="test", by=officer).person

    li = person("b", name="李四", document_number=ID2, phone="13922223333")
    list_person(li, reason="close_contact", source="investigation", by=None)
    person("a", name="周九", phone="13600001111")
    survivor = person("a", name="孙八", document_kind="passport", document_number="E12345678", phone="13700007777")
    person("b", name="孙八", document_number=ID5, phone="13700007777")  # same name and mobile: a merge candidate
    street = User.objects.create_user(username="merger", role=Role.STREET_OFFICE, division=tree["street"])
    assert confirm_merge(MergeCandidate.objects.get(), by=street).pk == survivor.pk


def _value(field: models.Field[Any, Any], value: Any, keys: dict[str, dict[int, Any]]) -> Any:
    if field.is_relation and value is not None and field.related_model is not None:
        return keys.get(field.related_model._meta.label, {}).get(value, ("id", value))
    return value


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, ids replaced by natural keys and auto timestamps left out
    (checked separately), sorted: what the database holds, independent of id allocation."""
    keys: dict[str, dict[int, Any]] = {"core.User": {u.pk: u.username for u in User.objects.all()}}
    keys["people.Person"] = {
        p.pk: (p.name, p.primary_document_kind, p.primary_document_number, p.phone) for p in Person.objects.all()
    }
    keys["screening.PoolEntry"] = {
        e.pk: (keys["people.Person"][e.person_id], e.state, e.listed_at) for e in PoolEntry.objects.all()
    }
    tables: dict[str, list[tuple[Any, ...]]] = {}
    # The merge queue is compared separately: the previous writer did not queue candidates.
    for model in (Person, PersonDocument, PersonSource, PoolEntry, PoolEvent, RiskReport):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in AUTO_TIMES]
        rows = []
        for values in model.objects.values_list(*(f.attname for f in fields)):
            rows.append(tuple(_value(f, v, keys) for f, v in zip(fields, values, strict=True)))
        auto = [f.attname for f in model._meta.concrete_fields if f.attname in AUTO_TIMES]
        assert all(not model.objects.filter(**{f"{a}__isnull": True}).exists() for a in auto)
        tables[model._meta.label] = sorted(rows, key=repr)
    tables["audit"] = sorted(
        (a.action, repr(sorted((k, v) for k, v in a.changes.items() if k != "sha256")))
        for a in AuditEntry.objects.filter(action="screening.list.import")
    )
    return tables


def _receive(path: Path, officer: User, tree: dict[str, Any]) -> services.ListImport:
    return services.receive_list_path(
        path, source="police", layout_name="市公安局推送", division=tree["city"], by=officer
    )


def _import(list_import: services.ListImport, officer: User) -> services.ImportResult:
    return services.import_list(list_import, mapping=services.preview(list_import).suggested, by=officer, now=NOW)


@pytest.mark.parametrize("chunk_rows", [None, 3], ids=["one-chunk", "chunks-of-3"])
def test_the_fast_writer_writes_exactly_what_the_reference_wrote(
    tmp_path, tree, officer, registry, monkeypatch, chunk_rows
):
    """In one chunk, and in chunks of three rows checked by forked processes and written as they come (a repeated
    person, a phone-only person and a person already open meet again in later chunks)."""
    if chunk_rows:
        from fangkong.screening.imports import validation

        monkeypatch.setattr(validation, "CHUNK_ROWS", chunk_rows)
        monkeypatch.setattr(validation, "processes_for", lambda rows: 2)
    list_import = _receive(gbk_csv(tmp_path, ROWS), officer, tree)
    with transaction.atomic():
        with monkeypatch.context() as patch:
            patch.setattr(services.writing, "ListWriter", reference_writing.ReferenceListWriter)
            expected_result = _import(list_import, officer)
        expected = snapshot()
        transaction.set_rollback(True)
    list_import.refresh_from_db()
    assert not services.is_imported(list_import)  # rolled back: the same upload imports again

    assert services.writing.ListWriter is writing.ListWriter
    result = _import(list_import, officer)
    assert result == expected_result
    assert result.as_dict() == {
        "rows": 14,
        "people_created": 8,
        "entries_created": 10,
        "reports_added": 14,
        "unlocated": 2,  # the visitor from Shanghai, and 吴十 (phone only, no address)
    }
    actual = snapshot()
    assert actual.keys() == expected.keys()
    for table, rows in expected.items():
        assert actual[table] == rows, table
    # The identity rules held: same document → one person; the merged record's document → its survivor.
    assert Person.objects.filter(primary_document_number=ID1).count() == 1
    survivor = Person.objects.get(primary_document_number="E12345678")
    assert PoolEntry.objects.get(person=survivor).reports.get().data["row"] == 8
    assert PoolEntry.objects.get(person__primary_document_number=ID2).reasons == ["close_contact", "arrival"]
    assert Person.objects.filter(name="吴十").count() == 1 and ID3
    # The merge queue, as register_person would have filled it: the new 周九 (with a document) against the
    # registry's 周九 (same name and mobile, no document); the two 郑一 hold different resident IDs.
    pending = MergeCandidate.objects.filter(status="pending")
    assert [(c.person.primary_document_number, c.other.name, c.other.primary_document_number) for c in pending] == [
        (ID6, "周九", "")
    ]


def test_bulk_writes_need_a_transaction():
    with pytest.raises(bulk.BulkWriteError, match="inside transaction"):
        bulk.allocate_ids(PersonSource, 3)
    with pytest.raises(bulk.BulkWriteError, match="inside transaction"):
        bulk.insert_rows(PersonSource, ("person_id",), [])


def test_bulk_ids_never_reuse_a_deleted_id(tree):
    with transaction.atomic():
        person = Person.objects.create(name="甲", home_division=tree["a"])
        last = Person.objects.create(name="乙", home_division=tree["a"])
        deleted = last.pk
        last.delete()
        ids = bulk.allocate_ids(Person, 3)
        assert ids[0] > deleted and len(set(ids)) == 3
        bulk.insert_rows(Person, ("id", "name", "home_division_id"), [(pk, "丙", tree["a"].path) for pk in ids])
        assert list(Person.objects.filter(pk__in=ids).values_list("name", flat=True)) == ["丙"] * 3
        assert Person.objects.create(name="丁", home_division=tree["a"]).pk > max(ids) > person.pk
        with pytest.raises(bulk.BulkWriteError, match="no column"):
            bulk.insert_rows(Person, ("nonsense",), [])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is the PostgreSQL path")
def test_on_postgresql_the_writer_uses_copy(tmp_path, tree, officer, registry):
    statements: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        _import(_receive(gbk_csv(tmp_path, ROWS), officer, tree), officer)
    assert not any(s.lstrip().upper().startswith('INSERT INTO "PEOPLE_PERSON"') for s in statements)
    assert RiskReport.objects.count() == 14 + 1 and PersonSource.objects.filter(source="police").count() == 14


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds indexes after a large insert")
def test_a_large_sqlite_insert_rebuilds_the_same_indexes(tree, monkeypatch):
    from django.db import IntegrityError

    def indexes() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people_personsource'"
            )
            return sorted(cursor.fetchall())

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)  # every insert counts as large
    person = Person.objects.create(name="甲", home_division=tree["a"])
    before = indexes()
    assert any("UNIQUE" in (sql or "") for _name, sql in before)
    with transaction.atomic():
        rows = [(person.pk, "police", f"ref:{n}", bulk.db_json({})) for n in range(3)]
        assert bulk.insert_rows(PersonSource, ("person_id", "source", "reference", "data"), rows) == 3
    assert indexes() == before
    with pytest.raises(IntegrityError), transaction.atomic():  # the partial unique index is back and enforced
        bulk.insert_rows(PersonSource, ("person_id", "source", "reference", "data"), rows[:1])
    assert PersonSource.objects.filter(person=person).count() == 3


@pytest.mark.parametrize("generator", [False, True], ids=["list", "generator"])
def test_insert_rows_writes_every_row_in_statements_of_several_rows(tree, monkeypatch, generator):
    """Statements of three rows (SQLite) and a last, shorter one; unnamed columns' defaults as literals."""
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 3)
    person = Person.objects.create(name="甲", home_division=tree["a"])
    for count in (1, 3, 7):
        rows = [(person.pk, "police", f"{count}:{n}", bulk.db_json({"n": n, "名": "100%"})) for n in range(count)]
        with transaction.atomic():
            written = bulk.insert_rows(
                PersonSource,
                ("person_id", "source", "reference", "data"),
                (row for row in rows) if generator else rows,
                expected=count,
            )
        assert written == count
        stored = PersonSource.objects.filter(reference__startswith=f"{count}:").order_by("pk")
        assert [(s.reference, s.data, s.recorded_by_id) for s in stored] == [
            (f"{count}:{n}", {"n": n, "名": "100%"}, None) for n in range(count)
        ]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's many-row statements (COPY checks each row)")
def test_a_row_of_the_wrong_width_is_refused_before_it_shifts_values(tree, monkeypatch):
    """Flattened into one statement, a short row and a long one would move values into other columns."""
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 3)
    person = Person.objects.create(name="甲", home_division=tree["a"])
    rows = [
        (person.pk, "police", "bad:0", "{}"),
        (person.pk, "police", "bad:1"),
        (person.pk, "police", "bad:2", "{}", 0),
    ]
    with pytest.raises(bulk.BulkWriteError, match="row 1 has 3 values for 4 columns"), transaction.atomic():
        bulk.insert_rows(PersonSource, ("person_id", "source", "reference", "data"), rows)
    assert not PersonSource.objects.filter(reference__startswith="bad:").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite defers indexes")
def test_indexes_deferred_for_a_chunked_load_keep_the_lookup_index_and_come_back(tree, monkeypatch):
    from django.db import IntegrityError

    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 100)  # a load of 1,000 counts as large

    def indexes(table: str) -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
            return sorted(cursor.fetchall())

    before = indexes("people_person")
    columns = ("name", "phone", "home_division_id")
    with transaction.atomic():
        with bulk.indexes_deferred(Person, 1000, keep=("phone",)):
            during = indexes("people_person")
            assert [name for name, _sql in during] == ["person_phone_idx"]
            for chunk in range(3):  # each insert leaves the indexes alone
                bulk.insert_rows(Person, columns, [(f"乙{chunk}", "13800001111", tree["a"].path)] * 2)
                assert indexes("people_person") == during
            assert Person.objects.filter(phone="13800001111").count() == 6
        assert indexes("people_person") == before
    sources = indexes("people_personsource")
    person = Person.objects.first()
    assert person is not None
    row = (person.pk, "police", "ref:1", bulk.db_json({}))
    with pytest.raises(IntegrityError), transaction.atomic():  # the unique index built at the end refuses
        with bulk.indexes_deferred(PersonSource, 1000):
            bulk.insert_rows(PersonSource, ("person_id", "source", "reference", "data"), [row, row])
    assert indexes("people_personsource") == sources and not PersonSource.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite writes unnamed defaults as literals")
@pytest.mark.parametrize("value", ["", "it's 100% %s done", "名单", 0, 7, True, None])
def test_defaults_written_as_sqlite_literals_read_back_unchanged(db, value):
    literal = bulk._sqlite_literal(value)
    assert literal is not None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {literal}, %s", [1])  # noqa: S608 - a literal under test
        assert cursor.fetchone() == ((int(value) if isinstance(value, bool) else value), 1)


@pytest.mark.parametrize("given", [False, True], ids=["read-by-id", "records-given"])
def test_the_bulk_merge_queue_follows_register_persons_rule(tree, given):
    """New records against older unmerged ones with the same name and mobile; two numbers of one document kind
    are two people; a merged record is never a candidate. The same whether the caller passes the new records
    (as bulk_resolve_people's result carries them) or they are read back by id."""
    from fangkong.people.services import bulk_queue_possible_matches

    def person(**fields: Any) -> Person:
        return Person.objects.create(name="郑一", phone="13300003333", home_division=tree["a"], **fields)

    with transaction.atomic():
        older = person()
        merged = person()
        other_name = Person.objects.create(name="郑二", phone="13300003333", home_division=tree["a"])
        first = person(primary_document_kind="resident_id", primary_document_number=ID7)
        second = person(primary_document_kind="resident_id", primary_document_number=ID8)
        passport = person(primary_document_kind="passport", primary_document_number="E7654321")
        Person.objects.filter(pk=merged.pk).update(merged_into=older)
        new = [other_name, first, second, passport]
        records = [(p.pk, p.name, p.phone, p.primary_document_kind, p.primary_document_number) for p in new]
        queued = bulk_queue_possible_matches(frozenset(p.pk for p in new), new_records=records if given else None)
        assert queued == 5
    pairs = set(MergeCandidate.objects.values_list("person_id", "other_id"))
    assert pairs == {
        (first.pk, older.pk),
        (second.pk, older.pk),  # not second → first: two resident IDs
        (passport.pk, older.pk),
        (passport.pk, first.pk),
        (passport.pk, second.pk),
    }


def test_the_bulk_merge_queue_reads_records_between_new_ids(tree):
    """New ids that are not one block (an older record in between): the record in the gap is an older record
    like any other."""
    from fangkong.people.services import bulk_queue_possible_matches

    def person(**fields: Any) -> Person:
        return Person.objects.create(name="郑一", phone="13300003333", home_division=tree["a"], **fields)

    with transaction.atomic():
        first = person(primary_document_kind="resident_id", primary_document_number=ID7)
        between = person(primary_document_kind="resident_id", primary_document_number=ID8)
        passport = person(primary_document_kind="passport", primary_document_number="E7654321")
        records = [
            (p.pk, p.name, p.phone, p.primary_document_kind, p.primary_document_number) for p in (first, passport)
        ]
        assert bulk_queue_possible_matches(frozenset({first.pk, passport.pk}), new_records=records) == 2
    assert set(MergeCandidate.objects.values_list("person_id", "other_id")) == {
        (passport.pk, first.pk),
        (passport.pk, between.pk),
    }


def test_the_bulk_merge_queue_pairs_new_records_among_themselves(tree):
    """A first load (no older record at all): a name and mobile that two new records share still makes a
    pair, and one that a single record holds makes none."""
    from fangkong.people.services import bulk_queue_possible_matches

    with transaction.atomic():
        first = Person.objects.create(
            name="郑一",
            phone="13300003333",
            home_division=tree["a"],
            primary_document_kind="resident_id",
            primary_document_number=ID7,
        )
        passport = Person.objects.create(
            name="郑一",
            phone="13300003333",
            home_division=tree["a"],
            primary_document_kind="passport",
            primary_document_number="E7654321",
        )
        alone = Person.objects.create(name="郑二", phone="13300003333", home_division=tree["a"])
        new = [first, passport, alone]
        records = [(p.pk, p.name, p.phone, p.primary_document_kind, p.primary_document_number) for p in new]
        assert bulk_queue_possible_matches(frozenset(p.pk for p in new), new_records=records) == 1
    assert list(MergeCandidate.objects.values_list("person_id", "other_id")) == [(passport.pk, first.pk)]


def test_the_collector_is_paused_for_a_bulk_load_and_given_back_even_on_error():
    import gc

    def fail_inside() -> None:
        with bulk.cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        fail_inside()
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk.cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_insert_select_derives_rows_with_constants_and_defaults(tree, officer):
    """Rows derived in the database: the selected columns, the constants (a NULL foreign key and text on
    PostgreSQL need their column's type), and every other column's default (`at`: the `now` given)."""
    people = [Person.objects.create(name=f"甲{n}", home_division=tree["a"]) for n in range(4)]
    entries = [list_person(p, reason="arrival", source="police", by=None).entry for p in people]
    wanted = [entries[0].pk, entries[2].pk, entries[3].pk]  # not one block: an array, or JSON on SQLite
    PoolEvent.objects.all().delete()
    moment = datetime(2021, 8, 3, 9, 30, tzinfo=UTC)
    for by in (None, officer.pk):
        with transaction.atomic():
            where, params = bulk.id_block_condition(connection.ops.quote_name("id"), wanted)
            written = bulk.insert_select(
                PoolEvent,
                ("entry_id",),
                f"SELECT id FROM screening_poolentry WHERE {where} ORDER BY id",  # noqa: S608 - a test's SQL
                params,
                constants={"kind": "listed", "to_state": "listed", "note": "名单 100%", "by_id": by},
                now=moment,
                expected=len(wanted),
            )
        assert written == 3
        events = PoolEvent.objects.filter(by_id=by).order_by("entry_id")
        assert [(e.entry_id, e.kind, e.from_state, e.to_state, e.note, e.at) for e in events] == [
            (pk, "listed", "", "listed", "名单 100%", moment) for pk in wanted
        ]
    with pytest.raises(bulk.BulkWriteError, match="no column"), transaction.atomic():
        bulk.insert_select(PoolEvent, ("entry_id",), "SELECT 1", [], constants={"nonsense": 1})


def test_id_block_condition_matches_exactly_the_ids(tree):
    people = [Person.objects.create(name=f"乙{n}", home_division=tree["a"]) for n in range(5)]
    ids = [p.pk for p in people]
    for wanted in (ids, ids[1:4], [ids[0], ids[4]], [ids[2]], []):
        where, params = bulk.id_block_condition("id", wanted)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM people_person WHERE {where} ORDER BY id", params)  # noqa: S608
            assert [pk for (pk,) in cursor.fetchall()] == wanted


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's page cache")
def test_the_sqlite_page_cache_is_raised_for_a_large_write_and_given_back(db):
    def cache() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return int(cursor.fetchone()[0])

    before = cache()
    with bulk.large_write(1_000_000):
        assert cache() == -min(1_000_000 * bulk.CACHE_KIB_PER_ROW, bulk.SQLITE_CACHE_MAX_KIB)
        with bulk.sqlite_page_cache(bulk.SQLITE_CACHE_KIB):  # an insert inside never lowers it
            assert cache() == -min(1_000_000 * bulk.CACHE_KIB_PER_ROW, bulk.SQLITE_CACHE_MAX_KIB)
    assert cache() == before

    def fail_inside() -> None:
        with bulk.large_write(10):
            assert cache() == -bulk.SQLITE_CACHE_KIB
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert cache() == before


@pytest.mark.parametrize(
    "value",
    [
        {"name": "张三", "address": "东社区 9号", "row": 3, "none": None, "list": ["a", 1.5]},
        {"name": "lone \ud800 surrogate"},  # an API payload's JSON can carry one: written escaped
        [],
        "纯文本",
    ],
)
def test_db_json_reads_back_as_the_value_and_is_storable(tree, value):
    import json

    text = bulk.db_json(value)
    assert json.loads(text) == value
    text.encode("utf-8")  # what the database driver will do: never fails
    if "\\ud800" in text and connection.vendor == "postgresql":
        return  # jsonb refuses lone surrogates however they are written (Django's own json.dumps too)
    if isinstance(value, dict) and "张三" in value.get("name", ""):
        assert "张三" in text and ", " not in text.replace("东社区 9号", "")  # compact, Chinese as UTF-8
    person = Person.objects.create(name="甲", home_division=tree["a"])
    with transaction.atomic():
        bulk.insert_rows(PersonSource, ("person_id", "source", "reference", "data"), [(person.pk, "t", "r", text)])
    assert PersonSource.objects.get(person=person).data == value
