from django.db import migrations, models


def analyze_on_sqlite(apps, schema_editor):
    """SQLite picks indexes by the statistics of ANALYZE, which knows nothing of new indexes:
    without them it keeps reading the SLA rows instead of this index (3x slower queues at
    1M tickets). The whole of it (a few seconds at 1M tickets): a sample (analysis_limit)
    got the status column wrong by two orders of magnitude. PostgreSQL's autovacuum
    analyzes by itself."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("ANALYZE")


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0004_fk_indexes_covered"),
        ("tickets", "0006_work_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticketsla",
            index=models.Index(fields=["ticket", "next_due_at"], name="sla_due_idx"),
        ),
        migrations.RunPython(analyze_on_sqlite, migrations.RunPython.noop, elidable=True),
    ]
