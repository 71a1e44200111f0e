import pytest

from firstline.accounts import services
from firstline.accounts.models import Role, User
from firstline.core.errors import Conflict, InvalidInput, NotAllowed

from ..factories import AdminFactory, AgentFactory, RequesterFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def test_tokens_are_random_and_only_digests_are_kept():
    user = RequesterFactory()
    token_a, secret_a = services.create_api_token(user=user)
    _, secret_b = services.create_api_token(user=user)
    assert secret_a != secret_b
    assert services.authenticate_api_token(secret_a) == user
    assert services.authenticate_api_token(secret_a + "x") is None
    assert services.authenticate_api_token("") is None
    assert token_a.digest != secret_a and len(token_a.digest) == 64


def test_token_of_an_inactive_user_is_refused():
    user = RequesterFactory()
    _, secret = services.create_api_token(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert services.authenticate_api_token(secret) is None


def test_token_use_is_remembered():
    user = RequesterFactory()
    token, secret = services.create_api_token(user=user)
    services.authenticate_api_token(secret)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_only_admins_create_admins_and_supervisors():
    with pytest.raises(NotAllowed):
        services.create_user(actor=SupervisorFactory(), username="x", role=Role.ADMIN)
    admin = services.create_user(actor=AdminFactory(), username="y", role=Role.ADMIN)
    assert admin.is_staff and admin.is_superuser


@pytest.mark.parametrize("actor_factory", [RequesterFactory, AgentFactory])
def test_requesters_and_agents_cannot_manage_people(actor_factory):
    with pytest.raises(NotAllowed):
        services.create_user(actor=actor_factory(), username="x")
    with pytest.raises(NotAllowed):
        services.create_organization(actor=actor_factory(), slug="x", name="X")


def test_org_manager_flag_only_for_requesters():
    agent = services.create_user(actor=None, username="a", role=Role.AGENT, is_org_manager=True)
    assert agent.is_org_manager is False


def test_usernames_are_unique_regardless_of_case():
    services.create_user(actor=None, username="Amy")
    with pytest.raises(Conflict):
        services.create_user(actor=None, username="amy")


def test_a_requester_is_inserted_in_one_statement_as_create_user_would_make_them(desk):
    from django.db import connection
    from django.db.models.signals import post_save, pre_save
    from django.test.utils import CaptureQueriesContext

    signals = []

    def pre(sender, instance, **kwargs):
        signals.append(("pre", instance.email, instance.pk))

    def post(sender, instance, created, **kwargs):
        signals.append(("post", instance.email, created, instance.pk is not None))

    pre_save.connect(pre, sender=User, weak=False, dispatch_uid="test-insert-pre")
    post_save.connect(post, sender=User, weak=False, dispatch_uid="test-insert-post")
    try:
        with CaptureQueriesContext(connection) as captured:
            user = services.insert_requester(
                username="fox@globex.example",
                email=" fox@globex.example ",
                first_name="Fox",
                last_name="William Mulder",
                organization=desk.globex,
            )
    finally:
        pre_save.disconnect(sender=User, dispatch_uid="test-insert-pre")
        post_save.disconnect(sender=User, dispatch_uid="test-insert-post")

    assert len(captured.captured_queries) == 1
    assert signals == [
        ("pre", "fox@globex.example", None),
        ("post", "fox@globex.example", True, True),
    ]
    stored = User.objects.get(pk=user.pk)
    made = services.create_user(
        actor=None,
        username="dana@globex.example",
        email="dana@globex.example",
        first_name="Fox",
        last_name="William Mulder",
        organization=desk.globex,
    )
    fields = [f.attname for f in User._meta.concrete_fields if f.attname not in ("id", "password")]
    differ = {"username", "email", "date_joined"}
    assert {f: getattr(stored, f) for f in fields if f not in differ} == {
        f: getattr(made, f) for f in fields if f not in differ
    }
    assert (stored.username, stored.email) == ("fox@globex.example", "fox@globex.example")
    assert stored.role == Role.REQUESTER and stored.organization == desk.globex
    assert not stored.has_usable_password() and stored.date_joined is not None


@pytest.mark.parametrize(
    ("username", "email"),
    [
        ("Dana@UNKNOWN.example", "someone.else@example.com"),  # the name, in another case
        ("somebody", "DANA@Unknown.Example"),  # the address, in another case
    ],
)
def test_inserting_a_requester_creates_nobody_when_the_name_or_address_is_taken(
    desk, username, email
):
    from django.db import transaction

    RequesterFactory(username=username, email=email)
    users = User.objects.count()

    with transaction.atomic():
        inserted = services.insert_requester(
            username="dana@unknown.example", email="dana@unknown.example", first_name="Dana"
        )

    assert inserted is None
    assert User.objects.count() == users


def test_inserting_a_requester_create_user_would_refuse_is_left_to_create_user(desk):
    assert services.insert_requester(username="not-an-address", email="not an address") is None
    assert services.insert_requester(username="no spaces allowed", email="a@b.example") is None
    long_address = "a" * 250 + "@b.example"
    assert services.insert_requester(username="long", email=long_address) is None
    assert not User.objects.filter(email__in=["not an address", "a@b.example"]).exists()
    assert not User.objects.filter(username="long").exists()


def test_groups_take_only_agents():
    with pytest.raises(InvalidInput):
        services.create_group(actor=None, slug="l1", name="L1", members=[RequesterFactory()])
