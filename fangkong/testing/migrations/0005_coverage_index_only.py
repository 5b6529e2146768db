"""Index-only reads for a round's coverage extraction (testing.coverage.extract, docs/testing-coverage.md).

- ``sample_person_once_per_round`` becomes (round, person) — the same uniqueness, still the one index a sample
  insert updates — and, on PostgreSQL, INCLUDE (sampled_at): it then holds everything the extraction reads of
  a round's samples. The INCLUDE is written here as SQL because Django leaves a constraint with ``include``
  out entirely on SQLite, uniqueness and all; the model states the constraint without it.
- ``person_home_live_idx`` on the person registry: (home_division_path, id) of the people not merged into
  another record, the residents the extraction reads per community. It is created here, by the app that reads
  it, as plain SQL (the registry's model does not need to know); SQLite accepts the same statement.
"""

from typing import Any

from django.db import migrations, models

CONDITION = models.Q(("is_duplicate", False), ("purpose", "round"))
OLD = models.UniqueConstraint(condition=CONDITION, fields=("person", "round"), name="sample_person_once_per_round")
NEW = models.UniqueConstraint(condition=CONDITION, fields=("round", "person"), name="sample_person_once_per_round")
COVERING = (
    "CREATE UNIQUE INDEX sample_person_once_per_round ON testing_sample (round_id, person_id)"
    " INCLUDE (sampled_at) WHERE purpose = 'round' AND NOT is_duplicate"
)


def reorder(apps: Any, schema_editor: Any) -> None:
    sample = apps.get_model("testing", "Sample")
    schema_editor.remove_constraint(sample, OLD)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COVERING)
    else:
        schema_editor.add_constraint(sample, NEW)


def restore(apps: Any, schema_editor: Any) -> None:
    sample = apps.get_model("testing", "Sample")
    schema_editor.remove_constraint(sample, NEW)
    schema_editor.add_constraint(sample, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("testing", "0004_recall_kinds_flag_decision_other_exemption"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="sample", name="sample_person_once_per_round"),
                migrations.AddConstraint(model_name="sample", constraint=NEW),
            ],
            database_operations=[migrations.RunPython(reorder, restore)],
        ),
        migrations.RunSQL(
            sql="CREATE INDEX person_home_live_idx ON people_person (home_division_path, id)"
            " WHERE merged_into_id IS NULL",
            reverse_sql="DROP INDEX person_home_live_idx",
        ),
    ]
