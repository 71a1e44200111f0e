"""Reads of organizations, users and groups, scoped to the acting user."""

from django.db.models import QuerySet

from firstline.core.errors import NotFound

from .models import Group, Organization, User


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
        raise NotFound.for_field("organization", f"No organization '{slug}'.")
    return org


def get_user(user: User, username: str) -> User:
    found = users_for(user).filter(username=username).first()
    if found is None:
        raise NotFound.for_field("user", f"No user '{username}'.")
    return found


def get_group(user: User, slug: str) -> Group:
    group = groups_for(user).filter(slug=slug).first()
    if group is None:
        raise NotFound.for_field("group", f"No group '{slug}'.")
    return group
