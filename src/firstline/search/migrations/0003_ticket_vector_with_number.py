"""PostgreSQL: the tickets' GIN index also holds the ticket number in blocks of 1,024
(btree_gin), so that "the matches among the newest N tickets" is answered inside the index
instead of by fetching every match of a common word (see selectors._postgres_newest_matches);
blocks rather than numbers keep a range of a million tickets to a thousand index entries.
btree_gin ships with PostgreSQL and is a trusted extension: the database owner may create it."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        schema_editor.execute("DROP INDEX IF EXISTS search_ticket_vector_idx")
        schema_editor.execute(
            "CREATE INDEX search_ticket_vector_idx ON search_searchdocument "
            "USING gin (vector, (object_id / 1024)) WHERE kind = 'ticket'"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_ticket_vector_idx")
        schema_editor.execute(
            "CREATE INDEX search_ticket_vector_idx ON search_searchdocument "
            "USING gin (vector) WHERE kind = 'ticket'"
        )


class Migration(migrations.Migration):
    dependencies = [("search", "0002_text_index")]

    operations = [migrations.RunPython(create, drop)]
