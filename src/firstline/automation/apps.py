from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "firstline.automation"
    label = "automation"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the ticket and SLA signal receivers)
