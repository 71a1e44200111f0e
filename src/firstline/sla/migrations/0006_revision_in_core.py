import uuid

from django.db import migrations


def carry_over(apps, schema_editor):
    """A configured desk gets its token among core's revisions, where the SLA now reads it
    (without one its policies would look never configured)."""
    if apps.get_model("sla", "ConfigRevision").objects.exists():
        apps.get_model("core", "Revision").objects.update_or_create(
            name="sla", defaults={"token": uuid.uuid4().hex}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0005_due_index"),
        ("core", "0002_revision"),
    ]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
