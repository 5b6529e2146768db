"""The uncovered lists belong to the round (testing.coverage.services.store_reconciliation keeps them by
difference); ``run`` stays, as the run that first listed the person. Existing rows take their run's round."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("testing", "0007_coverage_exempt_other"),
    ]

    operations = [
        migrations.AddField(
            model_name="uncoveredperson",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="testing.testround",
                verbose_name="round",
            ),
        ),
        migrations.RunSQL(
            sql="UPDATE testing_uncoveredperson SET round_id = (SELECT r.round_id FROM testing_roundcoveragerun r"
            " WHERE r.id = testing_uncoveredperson.run_id)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="uncoveredperson",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="testing.testround",
                verbose_name="round",
            ),
        ),
        migrations.RemoveIndex(model_name="uncoveredperson", name="uncovered_run_kind_idx"),
        migrations.AddIndex(
            model_name="uncoveredperson",
            index=models.Index(fields=["round", "kind", "division"], name="uncovered_round_kind_idx"),
        ),
        migrations.AlterModelOptions(
            name="uncoveredperson",
            options={
                "ordering": ["round_id", "division_id", "person_id"],
                "verbose_name": "uncovered resident",
                "verbose_name_plural": "uncovered residents",
            },
        ),
    ]
