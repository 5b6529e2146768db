"""Index-only reads for a round's coverage extraction (testing.coverage.extract, docs/testing-coverage.md).

- ``sample_person_once_per_round`` becomes (round, person) INCLUDE (sampled_at): the same uniqueness, the same
  single index on insert, and it now holds everything the extraction reads of a round's samples.
- ``person_home_live_idx`` on the person registry: (home_division_path, id) of the people not merged into
  another record, the residents the extraction reads per community. It is created here, by the app that reads
  it, as plain SQL (the registry's model does not need to know); SQLite accepts the same statement.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("testing", "0004_recall_kinds_flag_decision_other_exemption"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="sample",
            name="sample_person_once_per_round",
        ),
        migrations.AddConstraint(
            model_name="sample",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_duplicate", False), ("purpose", "round")),
                fields=("round", "person"),
                include=("sampled_at",),
                name="sample_person_once_per_round",
            ),
        ),
        migrations.RunSQL(
            sql="CREATE INDEX person_home_live_idx ON people_person (home_division_path, id)"
            " WHERE merged_into_id IS NULL",
            reverse_sql="DROP INDEX person_home_live_idx",
        ),
    ]
