"""The change log carries a person's home as a registry change leaves it, so a warm run need not read it back.

A registry row of the log (``round_id`` NULL) now records, besides the person, their home division's path as the
logged change leaves it — or ``''`` when the change leaves no resident: the person merged into another record,
or deleted. Rows logged before this migration carry NULL and are read back, as before.

The last row of a person in the log is the person's state: an insert, update or delete of the row holds its
lock until the writer commits, so a second writer logs after the first has committed, and the log's ids come
from one sequence (no cache per session): for one person, the log's order is the order of the row's versions.
A warm run therefore takes the state from a person's newest row since its snapshot (visible in its own
snapshot, as ever) and reads back only people whose newest row has no home logged.

PostgreSQL: the three person triggers' functions are replaced (the triggers stay). SQLite: the three row
triggers are recreated with the new column.
"""

# ruff: noqa: S608 - the SQL is assembled from the module's own constants
from django.db import migrations, models

LOG = "INSERT INTO testing_coveragechange (person_id, round_id, xact, home)"
XACT = "pg_current_xact_id()::text::bigint"
OLD_LOG = "INSERT INTO testing_coveragechange (person_id, round_id, xact)"
PERSON_MOVED = (
    "OLD.home_division_path IS DISTINCT FROM NEW.home_division_path"
    " OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id"
)


def home(row: str) -> str:
    return f"CASE WHEN {row}merged_into_id IS NULL THEN {row}home_division_path ELSE '' END"


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$;"
    )


POSTGRESQL = [
    _pg_function("coverage_log_people_inserted", f"{LOG} SELECT id, NULL, {XACT}, {home('')} FROM changed_rows"),
    _pg_function("coverage_log_people_deleted", f"{LOG} SELECT id, NULL, {XACT}, '' FROM changed_rows"),
    _pg_function("coverage_log_person_moved", f"{LOG} VALUES (NEW.id, NULL, {XACT}, {home('NEW.')})"),
]
POSTGRESQL_REVERSE = [
    _pg_function("coverage_log_people_inserted", f"{OLD_LOG} SELECT id, NULL, {XACT} FROM changed_rows"),
    _pg_function("coverage_log_people_deleted", f"{OLD_LOG} SELECT id, NULL, {XACT} FROM changed_rows"),
    _pg_function("coverage_log_person_moved", f"{OLD_LOG} VALUES (NEW.id, NULL, {XACT})"),
]


def _sqlite(log: str, *, with_home: bool) -> list[str]:
    moved = PERSON_MOVED.replace("IS DISTINCT FROM", "IS NOT")
    new_home, gone = (f", {home('NEW.')}", ", ''") if with_home else ("", "")
    return [
        "DROP TRIGGER coverage_log_person_inserted;",
        "DROP TRIGGER coverage_log_person_deleted;",
        "DROP TRIGGER coverage_log_person_moved;",
        "CREATE TRIGGER coverage_log_person_inserted AFTER INSERT ON people_person"
        f" BEGIN {log} VALUES (NEW.id, NULL, NULL{new_home}); END;",
        "CREATE TRIGGER coverage_log_person_deleted AFTER DELETE ON people_person"
        f" BEGIN {log} VALUES (OLD.id, NULL, NULL{gone}); END;",
        "CREATE TRIGGER coverage_log_person_moved AFTER UPDATE OF home_division_path, merged_into_id ON people_person"
        f" WHEN {moved} BEGIN {log} VALUES (NEW.id, NULL, NULL{new_home}); END;",
    ]


def replace_triggers(apps: object, schema_editor: object) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"  # type: ignore[attr-defined]
    for statement in POSTGRESQL if postgresql else _sqlite(LOG, with_home=True):
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def restore_triggers(apps: object, schema_editor: object) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"  # type: ignore[attr-defined]
    for statement in POSTGRESQL_REVERSE if postgresql else _sqlite(OLD_LOG, with_home=False):
        schema_editor.execute(statement)  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    dependencies = [
        ("testing", "0011_coverage_change_sampled_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragechange",
            name="home",
            field=models.CharField(blank=True, max_length=12, null=True),
        ),
        migrations.RunPython(replace_triggers, restore_triggers),
    ]
