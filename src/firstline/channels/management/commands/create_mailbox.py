from django.core.management.base import BaseCommand, CommandError

from firstline.accounts.models import Group, Organization
from firstline.channels import services
from firstline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create a mailbox and print its inbound token once (for the HTTP inbound endpoint)."

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--name", default="")
        parser.add_argument("--group", help="Slug of the group new tickets go to.")
        parser.add_argument("--organization", help="Slug of the organization of new tickets.")

    def handle(self, *args, address, name, group, organization, **options):
        group_obj = org_obj = None
        if group and not (group_obj := Group.objects.filter(slug=group).first()):
            raise CommandError(f"No group '{group}'.")
        if organization and not (org_obj := Organization.objects.filter(slug=organization).first()):
            raise CommandError(f"No organization '{organization}'.")
        try:
            _, secret = services.create_mailbox(
                actor=None, address=address, name=name, group=group_obj, organization=org_obj
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)
