from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background tasks from every queue (the database-backed django-tasks worker)."

    def handle(self, *args, **options):
        call_command("db_worker", queue_name="*", reload=False)
