"""Reads of organizations, users and groups, scoped to the acting user."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from firstline.core.errors import NotFound

from .models import Group, Organization, OrganizationDomain, User


def organizations_for(user: User) -> QuerySet[Organization]:
    if user.is_agent:
        return Organization.objects.all()
    if user.organization_id is None:
        return Organization.objects.none()
    return Organization.objects.filter(pk=user.organization_id)


def users_for(user: User) -> QuerySet[User]:
    """Staff see everyone; a requester sees only themself."""
    users = User.objects.select_related("organization").order_by("username")
    return users if user.is_agent else users.filter(pk=user.pk)


def groups_for(user: User) -> QuerySet[Group]:
    if not user.is_agent:
        return Group.objects.none()
    return Group.objects.prefetch_related("organizations", "members").order_by("tier", "name")


def get_organization(user: User, slug: str) -> Organization:
    org = organizations_for(user).filter(slug=slug).first()
    if org is None:
        raise NotFound.for_field("organization", _("No organization '%(slug)s'.") % {"slug": slug})
    return org


def get_user(user: User, username: str) -> User:
    found = users_for(user).filter(username=username).first()
    if found is None:
        raise NotFound.for_field("user", _("No user '%(username)s'.") % {"username": username})
    return found


def get_group(user: User, slug: str) -> Group:
    group = groups_for(user).filter(slug=slug).first()
    if group is None:
        raise NotFound.for_field("group", _("No group '%(slug)s'.") % {"slug": slug})
    return group


def organization_for_email(email: str) -> Organization | None:
    """The organization that owns the e-mail address's domain, if any (not user-scoped: used
    before anyone is logged in, to place a new requester)."""
    domain = email.rpartition("@")[2]
    return organizations_for_domains([domain])[domain]


def users_with_addresses(emails: Iterable[str]) -> QuerySet[User]:
    """The users with these e-mail addresses, in any case (not user-scoped: copying people in
    on inbound mail): `iexact`, which the UPPER(email) index serves, where a plain
    `email IN (...)` read every user and matched only the stored case."""
    same = Q()
    for email in emails:
        same |= Q(email__iexact=email)
    return User.objects.filter(same) if same else User.objects.none()


def organizations_for_domains(domains: Iterable[str]) -> dict[str, Organization | None]:
    """Each domain (as given) -> the active organization that owns it, or None; in one query
    (inbound mail places a batch's new senders at once)."""
    names = {domain: domain.strip().lower() for domain in domains}
    if not names:
        return {}
    owned = OrganizationDomain.objects.select_related("organization")
    owners = {row.domain: row.organization for row in owned.filter(domain__in=set(names.values()))}
    return {
        domain: owner if (owner := owners.get(name)) is not None and owner.is_active else None
        for domain, name in names.items()
    }


# Administration (/manage/): lists for supervisors and admins, with counts in the same query.


def _managers_only(actor: User, queryset: QuerySet) -> QuerySet:
    return queryset if actor.sees_all_tickets else queryset.none()


def managed_organizations(actor: User) -> QuerySet[Organization]:
    organizations = Organization.objects.annotate(member_count=Count("members", distinct=True))
    return _managers_only(actor, organizations.prefetch_related("domains").order_by("name"))


def managed_groups(actor: User) -> QuerySet[Group]:
    groups = Group.objects.annotate(member_count=Count("members", distinct=True))
    return _managers_only(actor, groups.prefetch_related("organizations").order_by("tier", "name"))


@dataclass(frozen=True)
class UserFilters:
    role: str = ""
    organization: Organization | None = None
    active: bool | None = None
    text: str = ""


def _text_filter(text: str) -> Q:
    """Every word must appear in the username, a name or the e-mail address."""
    condition = Q()
    for word in text.split():
        condition &= (
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
        )
    return condition


def managed_users(actor: User, filters: UserFilters) -> QuerySet[User]:
    users = User.objects.select_related("organization").order_by("username")
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.organization is not None:
        users = users.filter(organization=filters.organization)
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    return _managers_only(actor, users.filter(_text_filter(filters.text)))


def management_counts(actor: User) -> dict[str, int]:
    if not actor.sees_all_tickets:
        return {"organizations": 0, "users": 0, "active_users": 0, "groups": 0}
    users = User.objects.aggregate(total=Count("pk"), active=Count("pk", filter=Q(is_active=True)))
    return {
        "organizations": Organization.objects.count(),
        "users": users["total"],
        "active_users": users["active"],
        "groups": Group.objects.count(),
    }


def signup_possible() -> bool:
    """Whether anyone at all could sign up: open to everyone, or some organization has a
    domain whose people may join. The e-mail address decides for one person."""
    if settings.ALLOW_SIGNUP:
        return True
    return OrganizationDomain.objects.filter(organization__is_active=True).exists()
