from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "firstline.desk"
    label = "desk"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
