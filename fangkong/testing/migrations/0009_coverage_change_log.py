"""The change log of the incremental round coverage (testing.coverage.incremental) and the triggers that fill it.

Triggers, not services, write the log: people's homes and merges are written by several services with
``save()``, by bulk imports (``core.bulk``: COPY on PostgreSQL, executemany on SQLite), by the admin and by
data migrations, and samples by the scan and batch paths; a database trigger sees all of them, in the writer's
own transaction, so a change is logged exactly when it commits. A log row names a key (a person, or a round
and a person); the extraction reads the key's current rows, so over-logging costs a read and never a wrong
answer:

- ``people_person``: a person inserted or deleted; an update that changes the home division or
  ``merged_into`` (an update of other columns — a name, a phone — is not logged).
- ``testing_sample``: a sample inserted or deleted; an update that changes its person, round, purpose,
  duplicate flag or time (both the old and the new key are logged).

PostgreSQL: inserts and deletes are logged per statement from the transition table (one INSERT … SELECT for a
bulk insert or a COPY), updates per row with a WHEN clause (no call at all when the watched columns keep their
values); ``xact`` is the writer's transaction id. SQLite: row triggers with the same conditions; its writers
are serialised, so ids are in commit order and ``xact`` stays NULL. TRUNCATE is not logged (nothing in the
platform truncates these tables; the round's snapshot token is the guard for a restored or rebuilt database).
"""

# ruff: noqa: S608 - the SQL is assembled from the module's own constants
import django.db.models.deletion
from django.db import migrations, models

LOG = "INSERT INTO testing_coveragechange (person_id, round_id, xact)"
XACT = "pg_current_xact_id()::text::bigint"
PERSON_MOVED = (
    "OLD.home_division_path IS DISTINCT FROM NEW.home_division_path"
    " OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id"
)
SAMPLE_MOVED = (
    "OLD.person_id IS DISTINCT FROM NEW.person_id OR OLD.round_id IS DISTINCT FROM NEW.round_id"
    " OR OLD.purpose IS DISTINCT FROM NEW.purpose OR OLD.is_duplicate IS DISTINCT FROM NEW.is_duplicate"
    " OR OLD.sampled_at IS DISTINCT FROM NEW.sampled_at"
)


def _pg_function(name: str, body: str) -> str:
    return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$;"


POSTGRESQL = [
    _pg_function("coverage_log_people_inserted", f"{LOG} SELECT id, NULL, {XACT} FROM changed_rows"),
    _pg_function("coverage_log_people_deleted", f"{LOG} SELECT id, NULL, {XACT} FROM changed_rows"),
    _pg_function("coverage_log_person_moved", f"{LOG} VALUES (NEW.id, NULL, {XACT})"),
    _pg_function("coverage_log_samples_changed", f"{LOG} SELECT person_id, round_id, {XACT} FROM changed_rows"),
    _pg_function(
        "coverage_log_sample_moved",
        f"{LOG} VALUES (OLD.person_id, OLD.round_id, {XACT}), (NEW.person_id, NEW.round_id, {XACT})",
    ),
    "CREATE TRIGGER coverage_log_people_inserted AFTER INSERT ON people_person REFERENCING NEW TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_people_inserted();",
    "CREATE TRIGGER coverage_log_people_deleted AFTER DELETE ON people_person REFERENCING OLD TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_people_deleted();",
    "CREATE TRIGGER coverage_log_person_moved AFTER UPDATE OF home_division_path, merged_into_id ON people_person"
    f" FOR EACH ROW WHEN ({PERSON_MOVED}) EXECUTE FUNCTION coverage_log_person_moved();",
    "CREATE TRIGGER coverage_log_samples_inserted AFTER INSERT ON testing_sample REFERENCING NEW TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_samples_changed();",
    "CREATE TRIGGER coverage_log_samples_deleted AFTER DELETE ON testing_sample REFERENCING OLD TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_samples_changed();",
    "CREATE TRIGGER coverage_log_sample_moved AFTER UPDATE OF person_id, round_id, purpose, is_duplicate,"
    f" sampled_at ON testing_sample FOR EACH ROW WHEN ({SAMPLE_MOVED}) EXECUTE FUNCTION coverage_log_sample_moved();",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER coverage_log_people_inserted ON people_person;",
    "DROP TRIGGER coverage_log_people_deleted ON people_person;",
    "DROP TRIGGER coverage_log_person_moved ON people_person;",
    "DROP TRIGGER coverage_log_samples_inserted ON testing_sample;",
    "DROP TRIGGER coverage_log_samples_deleted ON testing_sample;",
    "DROP TRIGGER coverage_log_sample_moved ON testing_sample;",
    "DROP FUNCTION coverage_log_people_inserted(), coverage_log_people_deleted(), coverage_log_person_moved(),"
    " coverage_log_samples_changed(), coverage_log_sample_moved();",
]


def _sqlite(condition: str) -> str:
    return condition.replace("IS DISTINCT FROM", "IS NOT")


SQLITE = [
    "CREATE TRIGGER coverage_log_person_inserted AFTER INSERT ON people_person"
    f" BEGIN {LOG} VALUES (NEW.id, NULL, NULL); END;",
    "CREATE TRIGGER coverage_log_person_deleted AFTER DELETE ON people_person"
    f" BEGIN {LOG} VALUES (OLD.id, NULL, NULL); END;",
    "CREATE TRIGGER coverage_log_person_moved AFTER UPDATE OF home_division_path, merged_into_id ON people_person"
    f" WHEN {_sqlite(PERSON_MOVED)} BEGIN {LOG} VALUES (NEW.id, NULL, NULL); END;",
    "CREATE TRIGGER coverage_log_sample_inserted AFTER INSERT ON testing_sample"
    f" BEGIN {LOG} VALUES (NEW.person_id, NEW.round_id, NULL); END;",
    "CREATE TRIGGER coverage_log_sample_deleted AFTER DELETE ON testing_sample"
    f" BEGIN {LOG} VALUES (OLD.person_id, OLD.round_id, NULL); END;",
    "CREATE TRIGGER coverage_log_sample_moved AFTER UPDATE OF person_id, round_id, purpose, is_duplicate, sampled_at"
    f" ON testing_sample WHEN {_sqlite(SAMPLE_MOVED)}"
    f" BEGIN {LOG} VALUES (OLD.person_id, OLD.round_id, NULL), (NEW.person_id, NEW.round_id, NULL); END;",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {name};"
    for name in (
        "coverage_log_person_inserted",
        "coverage_log_person_deleted",
        "coverage_log_person_moved",
        "coverage_log_sample_inserted",
        "coverage_log_sample_deleted",
        "coverage_log_sample_moved",
    )
]


def create_triggers(apps: object, schema_editor: object) -> None:
    statements = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE  # type: ignore[attr-defined]
    for statement in statements:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def drop_triggers(apps: object, schema_editor: object) -> None:
    statements = POSTGRESQL_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE  # type: ignore[attr-defined]
    for statement in statements:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_contact_keys"),
        ("testing", "0008_uncovered_by_round"),
    ]

    operations = [
        migrations.CreateModel(
            name="CoverageChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("person_id", models.BigIntegerField(verbose_name="person")),
                ("round_id", models.BigIntegerField(blank=True, null=True, verbose_name="round")),
                ("xact", models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["xact"], name="coverage_change_xact_idx")],
            },
        ),
        migrations.CreateModel(
            name="CoverageSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=32)),
                (
                    "round",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="testing.testround",
                        verbose_name="round",
                    ),
                ),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
