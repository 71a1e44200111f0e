from django.db import migrations

# Portable SQL (SQLite and PostgreSQL): only tickets whose SLA has a due time are written.
FILL = """
UPDATE tickets_ticket SET sla_due_at = (
    SELECT next_due_at FROM sla_ticketsla WHERE sla_ticketsla.ticket_id = tickets_ticket.id
)
WHERE id IN (SELECT ticket_id FROM sla_ticketsla WHERE next_due_at IS NOT NULL)
"""


class Migration(migrations.Migration):
    """Copies each SLA's next due time onto its ticket (Ticket.sla_due_at, which the SLA
    services keep in step from now on)."""

    dependencies = [("sla", "0007_drop_config_revision"), ("tickets", "0007_ticket_sla_due_at")]

    operations = [migrations.RunSQL(FILL, migrations.RunSQL.noop, elidable=True)]
