from django.core.management.base import BaseCommand, CommandError

from firstline.accounts import services
from firstline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create a client organization."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, slug, name, **options):
        try:
            org = services.create_organization(actor=None, slug=slug, name=name)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created organization {org.slug} ({org.name}).")
