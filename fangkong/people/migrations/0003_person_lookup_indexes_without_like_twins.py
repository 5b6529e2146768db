"""The person registry's exact-match indexes (mobile, mobile tail, household, workplace, class) without their
PostgreSQL `varchar_pattern_ops` twins.

`db_index=True` on a CharField makes Django create, on PostgreSQL, a second index for `LIKE 'x%'` next to the
plain one. Nothing queries these five columns by pattern (people search takes a full mobile or its last four
digits; contact suggestions match keys exactly), so the twins only cost every insert: measured on 100,000
people, the person table's sixteen indexes took 2.1 s of server CPU and eleven (without the five twins) 1.4 s.

The plain indexes stay, renamed to the names the model now declares (PostgreSQL: `ALTER INDEX … RENAME`, no
rebuild; SQLite, which cannot rename an index and never had the twins: dropped and built again).
Reversible.
"""

from typing import Any

from django.db import migrations, models

# column → (the name Django gave the db_index index, the name the model declares now)
INDEXES = {
    "phone": ("people_person_phone_13c6e3c0", "person_phone_idx"),
    "phone_tail": ("people_person_phone_tail_73c769dd", "person_phone_tail_idx"),
    "household_key": ("people_person_household_key_3a29e2d8", "person_household_idx"),
    "workplace_key": ("people_person_workplace_key_563b91e4", "person_workplace_idx"),
    "class_key": ("people_person_class_key_e246600b", "person_class_idx"),
}


def _rename(schema_editor: Any, *, forward: bool) -> None:
    quote = schema_editor.quote_name
    for column, (old, new) in INDEXES.items():
        source, target = (old, new) if forward else (new, old)
        if schema_editor.connection.vendor == "postgresql":
            if forward:
                schema_editor.execute(f"DROP INDEX {quote(old + '_like')}")
            else:
                schema_editor.execute(
                    f"CREATE INDEX {quote(old + '_like')} ON people_person ({quote(column)} varchar_pattern_ops)"
                )
            schema_editor.execute(f"ALTER INDEX {quote(source)} RENAME TO {quote(target)}")
        else:
            schema_editor.execute(f"DROP INDEX {quote(source)}")
            schema_editor.execute(f"CREATE INDEX {quote(target)} ON people_person ({quote(column)})")


def forwards(apps: Any, schema_editor: Any) -> None:
    _rename(schema_editor, forward=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _rename(schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_contact_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="phone",
                    field=models.CharField(blank=True, max_length=11, verbose_name="mobile"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="phone_tail",
                    field=models.CharField(blank=True, max_length=4, verbose_name="mobile tail"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="household_key",
                    field=models.CharField(blank=True, max_length=40, verbose_name="household"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="workplace_key",
                    field=models.CharField(blank=True, max_length=40, verbose_name="workplace"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="class_key",
                    field=models.CharField(blank=True, max_length=40, verbose_name="school class"),
                ),
                *(
                    migrations.AddIndex(model_name="person", index=models.Index(fields=[column], name=new))
                    for column, (_old, new) in INDEXES.items()
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
