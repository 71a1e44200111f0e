from django.db import migrations


class Migration(migrations.Migration):
    """The token lives among core's revisions since 0006; nothing reads this table any more."""

    dependencies = [("sla", "0006_revision_in_core")]

    operations = [migrations.DeleteModel(name="ConfigRevision")]
