from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "firstline.accounts"
    label = "accounts"
