from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "firstline.channels"
    label = "channels"

    def ready(self):
        from . import notifications  # noqa: F401  (connects the ticket signal receivers)
