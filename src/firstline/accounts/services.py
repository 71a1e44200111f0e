"""Every write to organizations, users, groups and API tokens."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction

from firstline.core import clock
from firstline.core.errors import Conflict, InvalidInput, NotAllowed

from .models import ApiToken, Group, Organization, Role, User

TOKEN_PREFIX = "fl_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def require_manager(actor: User | None) -> None:
    """Supervisors and admins manage the help desk's people; `None` is the command line."""
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed("Only supervisors and administrators can do this.")


def _check_slug(slug: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError:
        raise InvalidInput.for_field(
            "slug", "Use only letters, numbers, hyphens and underscores."
        ) from None


@transaction.atomic
def create_organization(*, actor: User | None, slug: str, name: str) -> Organization:
    require_manager(actor)
    _check_slug(slug)
    if not name.strip():
        raise InvalidInput.for_field("name", "A name is required.")
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict.for_field("slug", f"An organization '{slug}' already exists.")
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
        raise InvalidInput.for_field("role", f"Unknown role '{role}'.")
    if role in (Role.ADMIN, Role.SUPERVISOR) and actor is not None and not actor.is_admin:
        raise NotAllowed("Only administrators can create supervisors and administrators.")
    if not username.strip():
        raise InvalidInput.for_field("username", "A username is required.")
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput.for_field("email", f"'{email}' is not an e-mail address.") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict.for_field("username", f"The username '{username}' is taken.")
    if email and User.objects.filter(email__iexact=email).exists():
        raise Conflict.for_field("email", f"The e-mail address '{email}' is already in use.")
    user = User(
        username=username.strip(),
        email=email,
        role=role,
        organization=organization,
        first_name=first_name,
        last_name=last_name,
        is_org_manager=is_org_manager and role == Role.REQUESTER,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        if validate_password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput(
                    "The password is too weak.", {"password": exc.messages}
                ) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict("That username or e-mail address is already in use.") from None
    return user


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
    if tier < 1:
        raise InvalidInput.for_field("tier", "The tier is 1 or more.")
    if Group.objects.filter(slug=slug).exists():
        raise Conflict.for_field("slug", f"A group '{slug}' already exists.")
    members = list(members)
    not_staff = [m.username for m in members if not m.is_agent]
    if not_staff:
        raise InvalidInput.for_field("members", f"Not agents: {', '.join(not_staff)}.")
    group = Group.objects.create(slug=slug, name=name, tier=tier, description=description)
    group.members.set(members)
    group.organizations.set(list(organizations))
    return group


def _token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is shown once and never stored."""
    if not user.is_active:
        raise InvalidInput.for_field("user", "Inactive users cannot have API tokens.")
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
    """The user a token belongs to, or None; remembers its last use at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user__organization")
        .filter(digest=_token_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
