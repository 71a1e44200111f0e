from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "firstline.desk"
    label = "desk"
