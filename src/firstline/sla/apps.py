from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "firstline.sla"
    label = "sla"
    verbose_name = "SLA"

    def ready(self):
        from . import config, receivers  # noqa: F401  (connects the signal receivers)
