import pytest

from firstline.accounts import services
from firstline.accounts.models import Role
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


def test_groups_take_only_agents():
    with pytest.raises(InvalidInput):
        services.create_group(actor=None, slug="l1", name="L1", members=[RequesterFactory()])
