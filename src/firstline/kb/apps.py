from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "firstline.kb"
    label = "kb"
    verbose_name = "Knowledge base"
