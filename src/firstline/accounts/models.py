from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _

from firstline.core import clock


class Organization(models.Model):
    """A client company or department served by the help desk; an MSP serves many."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An e-mail domain of an organization: its people may sign up, and their mail is theirs."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class Role(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REQUESTER)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # A requester who is an organization manager sees all of the organization's tickets.
    is_org_manager = models.BooleanField(default=False)
    language = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
            )
        ]
        # "Is this name or address taken?" compares as `iexact`, which PostgreSQL and our
        # SQLite backend (core/sqlite) write as UPPER(column) = UPPER(value): without these,
        # every new user (a new sender of mail, say) read the whole table.
        indexes = [
            models.Index(Upper("username"), name="accounts_user_username_upper"),
            models.Index(Upper("email"), name="accounts_user_email_upper"),
        ]

    @property
    def is_agent(self) -> bool:
        """Staff who work tickets: agents, supervisors and admins."""
        return self.role in STAFF_ROLES

    @property
    def sees_all_tickets(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def display_name(self) -> str:
        return display_name_of(self.username, self.first_name, self.last_name)


def display_name_of(username: str, first_name: str, last_name: str) -> str:
    """User.display_name from the columns alone (lists read as values, not users)."""
    return f"{first_name} {last_name}".strip() or username


class Group(models.Model):
    """A queue of agents at one support tier (L1, L2, L3...)."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    tier = models.PositiveSmallIntegerField(default=1)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="support_groups")
    # Empty means the group serves every organization.
    organizations = models.ManyToManyField(Organization, blank=True, related_name="serving_groups")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return f"{self.name} (L{self.tier})"

    def serves(self, organization: Organization | None) -> bool:
        served = list(self.organizations.all())
        return not served or (organization is not None and organization in served)


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 digest is stored, so a check costs one lookup."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
