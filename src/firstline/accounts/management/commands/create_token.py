from django.core.management.base import BaseCommand, CommandError

from firstline.accounts import services
from firstline.accounts.models import User
from firstline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create a personal API token and print it once; only its digest is kept."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        try:
            _, secret = services.create_api_token(user=user, name=name)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)
