from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "firstline.tickets"
    label = "tickets"
