from django.core.management.base import BaseCommand, CommandError

from firstline.accounts import services
from firstline.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Revoke API tokens by their prefix (as listed), or all tokens of a user."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--prefix", help="The first 10 characters of the token.")
        target.add_argument("--user", help="Revoke every token of this username.")

    def handle(self, *args, prefix=None, user=None, **options):
        tokens = ApiToken.objects.filter(revoked_at__isnull=True)
        tokens = tokens.filter(prefix=prefix) if prefix else tokens.filter(user__username=user)
        tokens = list(tokens)
        if not tokens:
            raise CommandError("No active token matches.")
        for token in tokens:
            services.revoke_api_token(token=token)
        self.stdout.write(f"Revoked {len(tokens)} token(s).")
