from django.db import migrations


def create(apps, schema_editor):
    Calendar = apps.get_model("sla", "Calendar")
    Calendar.objects.get_or_create(
        name="24/7", defaults={"time_zone": "UTC", "always_open": True}
    )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
