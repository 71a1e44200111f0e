from django.apps import AppConfig


class ManageConfig(AppConfig):
    name = "firstline.manage"
    label = "manage"
