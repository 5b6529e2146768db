"""The change log carries an inserted sample's time, so a warm run need not read the sample back.

A warm run (testing.coverage.incremental) reads, for every (round, person) key the log names, the key's
current counted sample — purpose ``round``, not a flagged second swab. Most changes during a round are new
samples, and reading 10^5 of them back cost an index probe each, with a heap visit while the new rows' pages
are not yet all-visible. So the insert trigger on ``testing_sample`` now logs only what can change a round's
input — the insertion of a *counted* sample (a retest or a second swab changes nobody's coverage) — and logs
it with its ``sampled_at``. A key whose only logged change since a snapshot is that one insertion has exactly
that row now: any later change of the row (a delete, a new person, round, purpose, flag or time) is logged
too, without a time, and sends the key back to be read. Rows logged before this migration have no time and
are read, as before. Deletes and updates are logged as in 0009.

PostgreSQL: the statement trigger for inserts gets a function of its own (the delete trigger keeps
``coverage_log_samples_changed``). SQLite: the row trigger is replaced, with a ``WHEN`` on the same condition.
"""

# ruff: noqa: S608 - the SQL is assembled from the module's own constants
from django.db import migrations, models

LOG = "INSERT INTO testing_coveragechange (person_id, round_id, xact, sampled_at)"
COUNTED = "purpose = 'round' AND NOT is_duplicate"

POSTGRESQL = [
    "CREATE FUNCTION coverage_log_samples_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" {LOG} SELECT person_id, round_id, pg_current_xact_id()::text::bigint, sampled_at FROM changed_rows"
    f" WHERE {COUNTED}; RETURN NULL; END $$;",
    "DROP TRIGGER coverage_log_samples_inserted ON testing_sample;",
    "CREATE TRIGGER coverage_log_samples_inserted AFTER INSERT ON testing_sample REFERENCING NEW TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_samples_inserted();",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER coverage_log_samples_inserted ON testing_sample;",
    "CREATE TRIGGER coverage_log_samples_inserted AFTER INSERT ON testing_sample REFERENCING NEW TABLE AS"
    " changed_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_samples_changed();",
    "DROP FUNCTION coverage_log_samples_inserted();",
]
SQLITE = [
    "DROP TRIGGER coverage_log_sample_inserted;",
    "CREATE TRIGGER coverage_log_sample_inserted AFTER INSERT ON testing_sample"
    " WHEN NEW.purpose = 'round' AND NOT NEW.is_duplicate"
    f" BEGIN {LOG} VALUES (NEW.person_id, NEW.round_id, NULL, NEW.sampled_at); END;",
]
SQLITE_REVERSE = [
    "DROP TRIGGER coverage_log_sample_inserted;",
    "CREATE TRIGGER coverage_log_sample_inserted AFTER INSERT ON testing_sample"
    " BEGIN INSERT INTO testing_coveragechange (person_id, round_id, xact) VALUES (NEW.person_id, NEW.round_id, NULL);"
    " END;",
]


def replace_trigger(apps: object, schema_editor: object) -> None:
    statements = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE  # type: ignore[attr-defined]
    for statement in statements:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def restore_trigger(apps: object, schema_editor: object) -> None:
    statements = POSTGRESQL_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE  # type: ignore[attr-defined]
    for statement in statements:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    dependencies = [
        ("testing", "0010_coverage_log_horizon"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragechange",
            name="sampled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(replace_trigger, restore_trigger),
    ]
