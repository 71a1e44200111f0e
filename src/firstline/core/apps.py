from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "firstline.core"
    label = "core"

    def ready(self):
        from . import revisions

        revisions.connect()
