"""The token index beside search_searchdocument, per database.

SQLite: one FTS5 table per kind whose rowid is the object's id (a ticket's number), with
the columns title, body and internal (internal notes: searched by agents only). The tokens
are made in Python (firstline.search.tokens), so FTS5 only splits them on spaces.
PostgreSQL: a tsvector column (title weight A, body B, internal notes D) built with the
'simple' configuration from the same tokens, and a GIN index per kind.
"""

from django.db import migrations

KINDS = ("ticket", "article")


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for kind in KINDS:
            schema_editor.execute(
                f"CREATE VIRTUAL TABLE search_{kind}_fts USING fts5("
                "title, body, internal, tokenize = 'unicode61 remove_diacritics 0')"
            )
    elif vendor == "postgresql":
        schema_editor.execute("ALTER TABLE search_searchdocument ADD COLUMN vector tsvector")
        for kind in KINDS:
            schema_editor.execute(
                f"CREATE INDEX search_{kind}_vector_idx ON search_searchdocument "
                f"USING gin (vector) WHERE kind = '{kind}'"
            )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for kind in KINDS:
            schema_editor.execute(f"DROP TABLE IF EXISTS search_{kind}_fts")
    elif vendor == "postgresql":
        schema_editor.execute("ALTER TABLE search_searchdocument DROP COLUMN vector")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
