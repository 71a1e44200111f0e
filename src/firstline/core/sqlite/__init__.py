"""Django's SQLite backend with its writers queued (see base.py); ENGINE `firstline.core.sqlite`."""
