from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "firstline.core"
    label = "core"
