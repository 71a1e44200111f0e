from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "firstline.portal"
    label = "portal"
