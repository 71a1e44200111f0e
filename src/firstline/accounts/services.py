"""Every write to organizations, users, groups and API tokens."""

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext as _

from firstline.core import clock, revisions
from firstline.core.bulk import new_row_values
from firstline.core.errors import Conflict, InvalidInput, NotAllowed, NotFound

from .models import ApiToken, Group, Organization, OrganizationDomain, Role, User

TOKEN_PREFIX = "fl_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def require_manager(actor: User | None) -> None:
    """Supervisors and admins manage the help desk's people; `None` is the command line."""
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed(_("Only supervisors and administrators can do this."))


def _check_slug(slug: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError:
        raise InvalidInput.for_field(
            "slug", _("Use only letters, numbers, hyphens and underscores.")
        ) from None


@transaction.atomic
def create_organization(*, actor: User | None, slug: str, name: str) -> Organization:
    require_manager(actor)
    _check_slug(slug)
    if not name.strip():
        raise InvalidInput.for_field("name", _("A name is required."))
    if Organization.objects.filter(slug=slug).exists():
        message = _("An organization '%(slug)s' already exists.") % {"slug": slug}
        raise Conflict.for_field("slug", message)
    return Organization.objects.create(slug=slug, name=name.strip())


@transaction.atomic
def create_user(
    *,
    actor: User | None,
    username: str,
    email: str = "",
    role: str = Role.REQUESTER,
    organization: Organization | None = None,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_org_manager: bool = False,
    validate_password: bool = True,
) -> User:
    require_manager(actor)
    if role not in Role.values:
        raise InvalidInput.for_field("role", _("Unknown role '%(role)s'.") % {"role": role})
    if role in (Role.ADMIN, Role.SUPERVISOR) and actor is not None and not actor.is_admin:
        raise NotAllowed(_("Only administrators can create supervisors and administrators."))
    username = username.strip()
    if not username:
        raise InvalidInput.for_field("username", _("A username is required."))
    try:
        User.username_validator(username)
    except ValidationError:
        raise InvalidInput.for_field(
            "username", _("Use only letters, digits and @ . + - _ in a username.")
        ) from None
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            message = _("'%(email)s' is not an e-mail address.") % {"email": email}
            raise InvalidInput.for_field("email", message) from None
    if User.objects.filter(username__iexact=username).exists():
        message = _("The username '%(username)s' is taken.") % {"username": username}
        raise Conflict.for_field("username", message)
    if email and User.objects.filter(email__iexact=email).exists():
        message = _("The e-mail address '%(email)s' is already in use.") % {"email": email}
        raise Conflict.for_field("email", message)
    user = User(
        username=username,
        email=email,
        role=role,
        organization=organization,
        first_name=first_name,
        last_name=last_name,
        is_org_manager=is_org_manager and role == Role.REQUESTER,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
        date_joined=clock.now(),
    )
    if password:
        if validate_password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput(
                    _("The password is too weak."), {"password": exc.messages}
                ) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(_("That username or e-mail address is already in use.")) from None
    return user


def insert_requester(
    *,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    organization: Organization | None = None,
) -> User | None:
    """The requester `create_user(actor=None, ...)` would make (no password), in one statement
    that inserts it unless the name or the address is taken, compared as create_user does
    (`iexact`): for new senders of inbound mail, who rarely take either (create_user: two
    lookups, two savepoints and an INSERT). None when either is taken (a clash with a row not
    committed yet inserts nothing too) or invalid: create_user then says why."""
    email = email.strip()
    try:
        User.username_validator(username)
        validate_email(email)
    except ValidationError:
        return None
    if len(email) > User._meta.get_field("email").max_length:
        return None
    user = User(username=username, email=email, role=Role.REQUESTER, date_joined=clock.now())
    user.first_name, user.last_name, user.organization = first_name, last_name, organization
    user.set_unusable_password()
    alias = connection.alias
    pre_save.send(sender=User, instance=user, raw=False, using=alias, update_fields=None)
    values = new_row_values(user)  # in _InsertRequester.fields' order
    with connection.cursor() as cursor:
        cursor.execute(_InsertRequester.sql(), [*values, username, email])
        row = cursor.fetchone()
    if row is None:
        return None
    user.pk = row[0]
    user._state.adding, user._state.db = False, alias
    post_save.send(
        sender=User, instance=user, created=True, raw=False, using=alias, update_fields=None
    )
    return user


class _InsertRequester:
    """insert_requester's statement, written once per database vendor (building it with the
    ORM cost more than running it). Double-quoted names suit SQLite and PostgreSQL alike."""

    fields = [f for f in User._meta.concrete_fields if not f.primary_key]
    _sql: dict[str, str] = {}

    @classmethod
    def sql(cls) -> str:
        vendor = connection.vendor
        if vendor not in cls._sql:
            table = f'"{User._meta.db_table}"'
            names = ", ".join(f'"{f.column}"' for f in cls.fields)
            if vendor == "postgresql":  # typed: it cannot infer a SELECT's parameter types
                marks = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in cls.fields)
                same = 'UPPER("{0}"::text) = UPPER(%s)'
            else:  # iexact as core/sqlite writes it
                marks = ", ".join("%s" for _f in cls.fields)
                same = 'UPPER("{0}") = UPPER(%s)'
            taken = f"{same.format('username')} OR {same.format('email')}"
            cls._sql[vendor] = (
                f"INSERT INTO {table} ({names}) SELECT {marks} WHERE NOT"
                f" EXISTS (SELECT 1 FROM {table} WHERE {taken}) ON CONFLICT DO NOTHING RETURNING id"
            )
        return cls._sql[vendor]


@transaction.atomic
def create_group(
    *,
    actor: User | None,
    slug: str,
    name: str,
    tier: int = 1,
    description: str = "",
    members: Iterable[User] = (),
    organizations: Iterable[Organization] = (),
) -> Group:
    require_manager(actor)
    _check_slug(slug)
    if not name.strip():
        raise InvalidInput.for_field("name", _("A name is required."))
    if tier < 1:
        raise InvalidInput.for_field("tier", _("The tier is 1 or more."))
    if Group.objects.filter(slug=slug).exists():
        raise Conflict.for_field("slug", _("A group '%(slug)s' already exists.") % {"slug": slug})
    members = list(members)
    not_staff = [m.username for m in members if not m.is_agent]
    if not_staff:
        message = _("Not agents: %(names)s.") % {"names": ", ".join(not_staff)}
        raise InvalidInput.for_field("members", message)
    group = Group.objects.create(slug=slug, name=name.strip(), tier=tier, description=description)
    group.members.set(members)
    group.organizations.set(list(organizations))
    return group


def _token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is shown once and never stored."""
    if not user.is_active:
        raise InvalidInput.for_field("user", _("Inactive users cannot have API tokens."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:10], digest=_token_digest(secret)
    )
    return token, secret


@transaction.atomic
def revoke_api_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])


def authenticate_api_token(secret: str) -> User | None:
    """The user a token belongs to, or None; remembers its last use at most once a minute.
    Each process keeps the tokens it has seen with their user while nothing about users,
    organizations and tokens changed (core/revisions.py): a revoked token or a deactivated
    user is refused by every process on its next request."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    memo = revisions.memo(revisions.ACCOUNTS)
    key = ("api_token", _token_digest(secret))
    seen = memo.get(key)
    if seen is None:
        token = (
            ApiToken.objects.select_related("user__organization")
            .filter(digest=key[1], revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None:
            return None  # not kept: anyone could fill the memory with made-up tokens
        seen = _SeenToken(token)
        if len(memo) < MAX_SEEN_TOKENS:
            memo[key] = seen
    now = clock.now()
    if seen.last_used_at is None or now - seen.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=seen.token_id).update(last_used_at=now)
        seen.last_used_at = now
    return seen.user()


MAX_SEEN_TOKENS = 10_000  # per process; beyond that, tokens are read every time
_USER_COLUMNS = tuple(f.attname for f in User._meta.concrete_fields)
_ORGANIZATION_COLUMNS = tuple(f.attname for f in Organization._meta.concrete_fields)


class _SeenToken:
    """A valid token's user (and organization) as plain values: each request gets its own
    instances, since the values are shared by the process's threads."""

    def __init__(self, token: ApiToken):
        self.token_id, self.last_used_at = token.pk, token.last_used_at
        self.user_values = [getattr(token.user, c) for c in _USER_COLUMNS]
        organization = token.user.organization
        self.organization_values = (
            [getattr(organization, c) for c in _ORGANIZATION_COLUMNS] if organization else None
        )

    def user(self) -> User:
        db = ApiToken.objects.db
        user = User.from_db(db, _USER_COLUMNS, self.user_values)
        if self.organization_values is None:
            user.organization = None
        else:
            values = self.organization_values
            user.organization = Organization.from_db(db, _ORGANIZATION_COLUMNS, values)
        return user


@transaction.atomic
def update_profile(
    *, user: User, first_name: str, last_name: str, language: str, time_zone: str
) -> User:
    """What a person may change about themself: name, language and time zone."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.language, user.time_zone = language, time_zone
    user.save(update_fields=["first_name", "last_name", "language", "time_zone"])
    return user


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@transaction.atomic
def add_organization_domain(
    *, actor: User | None, organization: Organization, domain: str
) -> OrganizationDomain:
    require_manager(actor)
    domain = domain.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        message = _("'%(domain)s' is not a domain name.") % {"domain": domain}
        raise InvalidInput.for_field("domain", message)
    taken = OrganizationDomain.objects.filter(domain=domain).select_related("organization").first()
    if taken is not None:
        message = _("'%(domain)s' belongs to %(organization)s.") % {
            "domain": domain,
            "organization": taken.organization,
        }
        raise Conflict.for_field("domain", message)
    return OrganizationDomain.objects.create(organization=organization, domain=domain)


# Administration (/manage/): what supervisors and admins change about people and groups.

MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def can_manage_user(actor: User | None, user: User) -> bool:
    """Admins manage everyone; supervisors manage requesters and agents; `None` is the CLI."""
    if actor is None or actor.is_admin:
        return True
    return actor.sees_all_tickets and user.role not in MANAGER_ROLES


def _require_can_manage(actor: User | None, user: User) -> None:
    require_manager(actor)
    if not can_manage_user(actor, user):
        raise NotAllowed(_("Only administrators can change supervisors and administrators."))


def _require_can_grant(actor: User | None, role: str) -> None:
    if role not in Role.values:
        raise InvalidInput.for_field("role", _("Unknown role '%(role)s'.") % {"role": role})
    if role in MANAGER_ROLES and actor is not None and not actor.is_admin:
        raise NotAllowed.for_field(
            "role", _("Only administrators can grant the supervisor and administrator roles.")
        )


def _clean_email(email: str, *, user: User) -> str:
    email = email.strip()
    if not email:
        return email
    try:
        validate_email(email)
    except ValidationError:
        message = _("'%(email)s' is not an e-mail address.") % {"email": email}
        raise InvalidInput.for_field("email", message) from None
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        message = _("The e-mail address '%(email)s' is already in use.") % {"email": email}
        raise Conflict.for_field("email", message)
    return email


@transaction.atomic
def update_organization(
    *, actor: User | None, organization: Organization, name: str, is_active: bool
) -> Organization:
    require_manager(actor)
    name = name.strip()
    if not name:
        raise InvalidInput.for_field("name", _("A name is required."))
    organization.name, organization.is_active = name, is_active
    organization.save(update_fields=["name", "is_active"])
    return organization


@transaction.atomic
def remove_organization_domain(
    *, actor: User | None, organization: Organization, domain: str
) -> None:
    require_manager(actor)
    domain = domain.strip().lower().lstrip("@")
    deleted = organization.domains.filter(domain=domain).delete()[0]
    if not deleted:
        message = _("'%(domain)s' is not a domain of %(organization)s.") % {
            "domain": domain,
            "organization": organization,
        }
        raise NotFound.for_field("domain", message)


@transaction.atomic
def update_user(
    *,
    actor: User | None,
    user: User,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    organization: Organization | None,
    is_org_manager: bool = False,
) -> User:
    """Changes a person's details and role; leaving the staff ends their group memberships."""
    _require_can_manage(actor, user)
    _require_can_grant(actor, role)
    if actor is not None and actor.pk == user.pk and user.is_admin and role != Role.ADMIN:
        raise NotAllowed.for_field("role", _("You cannot remove your own administrator role."))
    user.email = _clean_email(email, user=user)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.role, user.organization = role, organization
    user.is_org_manager = is_org_manager and role == Role.REQUESTER
    user.is_staff = user.is_superuser = role == Role.ADMIN
    if role == Role.REQUESTER:
        user.support_groups.clear()
    fields = ["email", "first_name", "last_name", "role", "organization", "is_org_manager"]
    try:
        with transaction.atomic():
            user.save(update_fields=[*fields, "is_staff", "is_superuser"])
    except IntegrityError:
        raise Conflict.for_field("email", _("That e-mail address is already in use.")) from None
    return user


@transaction.atomic
def set_user_active(*, actor: User | None, user: User, active: bool) -> User:
    """Deactivating someone also revokes their API tokens; nobody can deactivate themself."""
    require_manager(actor)
    if not active and actor is not None and actor.pk == user.pk:
        raise NotAllowed.for_field("is_active", _("You cannot deactivate your own account."))
    _require_can_manage(actor, user)
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        for token in user.api_tokens.filter(revoked_at__isnull=True):
            revoke_api_token(token=token)
    return user


@transaction.atomic
def set_user_groups(*, actor: User | None, user: User, groups: Iterable[Group]) -> User:
    _require_can_manage(actor, user)
    groups = list(groups)
    if groups and not user.is_agent:
        raise InvalidInput.for_field("groups", _("A requester cannot be a member of a group."))
    user.support_groups.set(groups)
    return user


@transaction.atomic
def edit_user(
    *,
    actor: User | None,
    user: User,
    is_active: bool,
    groups: Iterable[Group] | None = None,
    **details,
) -> User:
    """Everything the user form changes, all or nothing: details and role, groups, activity."""
    update_user(actor=actor, user=user, **details)
    if groups is not None:
        set_user_groups(actor=actor, user=user, groups=groups)
    return set_user_active(actor=actor, user=user, active=is_active)


def _check_group_members(members: list[User]) -> None:
    not_staff = [m.username for m in members if not m.is_agent]
    if not_staff:
        message = _("Only agents, supervisors and administrators can be members: %(names)s.")
        raise InvalidInput.for_field("members", message % {"names": ", ".join(not_staff)})


@transaction.atomic
def update_group(
    *,
    actor: User | None,
    group: Group,
    name: str,
    tier: int,
    description: str = "",
    is_active: bool = True,
    members: Iterable[User] | None = None,
    organizations: Iterable[Organization] | None = None,
) -> Group:
    """Changes a group; `organizations` empty means it serves every organization."""
    require_manager(actor)
    name = name.strip()
    if not name:
        raise InvalidInput.for_field("name", _("A name is required."))
    if tier < 1:
        raise InvalidInput.for_field("tier", _("The tier is 1 or more."))
    group.name, group.tier, group.is_active = name, tier, is_active
    group.description = description.strip()
    group.save(update_fields=["name", "tier", "description", "is_active"])
    if members is not None:
        members = list(members)
        _check_group_members(members)
        group.members.set(members)
    if organizations is not None:
        group.organizations.set(list(organizations))
    return group
