from django.core.management.base import BaseCommand, CommandError

from firstline.accounts import services
from firstline.accounts.models import Organization, Role
from firstline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create a user: a requester, agent, supervisor or administrator."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--role", choices=Role.values, default=Role.REQUESTER)
        parser.add_argument("--org", help="Slug of the user's organization.")
        parser.add_argument("--password", help="Without it the user cannot log in with one.")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--org-manager", action="store_true")

    def handle(self, *args, **options):
        organization = None
        if options["org"]:
            organization = Organization.objects.filter(slug=options["org"]).first()
            if organization is None:
                raise CommandError(f"No organization '{options['org']}'.")
        try:
            user = services.create_user(
                actor=None,
                username=options["username"],
                email=options["email"],
                role=options["role"],
                organization=organization,
                password=options["password"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                is_org_manager=options["org_manager"],
            )
        except ServiceError as exc:
            details = "; ".join(m for msgs in exc.errors.values() for m in msgs)
            raise CommandError(f"{exc.message} {details}".strip()) from None
        self.stdout.write(f"Created {user.role} {user.username}.")
