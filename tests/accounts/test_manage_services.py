"""The services behind the administration pages (/manage/)."""

import pytest

from firstline.accounts import selectors, services
from firstline.accounts.models import OrganizationDomain, Role, User
from firstline.core.errors import Conflict, InvalidInput, NotAllowed, NotFound

from ..factories import (
    AdminFactory,
    AgentFactory,
    GroupFactory,
    OrganizationFactory,
    RequesterFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db


def _details(user, **changes):
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "organization": user.organization,
        "is_org_manager": user.is_org_manager,
        **changes,
    }


def test_update_organization():
    org = OrganizationFactory(name="Acme")
    services.update_organization(actor=None, organization=org, name=" Acme Corp ", is_active=False)
    org.refresh_from_db()
    assert (org.name, org.is_active) == ("Acme Corp", False)
    with pytest.raises(InvalidInput):
        services.update_organization(actor=None, organization=org, name=" ", is_active=True)
    with pytest.raises(NotAllowed):
        services.update_organization(
            actor=AgentFactory(), organization=org, name="X", is_active=True
        )


def test_remove_organization_domain():
    acme, globex = OrganizationFactory(), OrganizationFactory()
    services.add_organization_domain(actor=None, organization=acme, domain="acme.example")
    with pytest.raises(NotFound):
        services.remove_organization_domain(actor=None, organization=globex, domain="acme.example")
    services.remove_organization_domain(actor=None, organization=acme, domain="@ACME.example ")
    assert not OrganizationDomain.objects.exists()
    with pytest.raises(NotAllowed):
        services.remove_organization_domain(
            actor=RequesterFactory(), organization=acme, domain="acme.example"
        )


def test_can_manage_user():
    supervisor, admin = SupervisorFactory(), AdminFactory()
    for target in (RequesterFactory(), AgentFactory()):
        assert services.can_manage_user(supervisor, target)
    for target in (SupervisorFactory(), admin, supervisor):
        assert not services.can_manage_user(supervisor, target)
        assert services.can_manage_user(admin, target)
    assert not services.can_manage_user(AgentFactory(), RequesterFactory())
    assert services.can_manage_user(None, admin)


def test_supervisor_updates_requesters_and_agents_only():
    supervisor, agent = SupervisorFactory(), AgentFactory()
    services.update_user(actor=supervisor, user=agent, **_details(agent, first_name=" Ann "))
    agent.refresh_from_db()
    assert agent.first_name == "Ann"
    for role in (Role.SUPERVISOR, Role.ADMIN):
        with pytest.raises(NotAllowed) as refused:
            services.update_user(actor=supervisor, user=agent, **_details(agent, role=role))
        assert "role" in refused.value.errors
    other = SupervisorFactory()
    with pytest.raises(NotAllowed):
        services.update_user(actor=supervisor, user=other, **_details(other, first_name="X"))
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_admin_grants_roles_and_django_admin_access_follows():
    admin, agent = AdminFactory(), AgentFactory()
    services.update_user(actor=admin, user=agent, **_details(agent, role=Role.ADMIN))
    agent.refresh_from_db()
    assert agent.is_admin and agent.is_staff and agent.is_superuser
    services.update_user(actor=admin, user=agent, **_details(agent, role=Role.SUPERVISOR))
    agent.refresh_from_db()
    assert agent.role == Role.SUPERVISOR and not agent.is_staff and not agent.is_superuser


def test_admin_cannot_remove_their_own_admin_role():
    admin = AdminFactory()
    with pytest.raises(NotAllowed):
        services.update_user(actor=admin, user=admin, **_details(admin, role=Role.SUPERVISOR))
    services.update_user(actor=admin, user=admin, **_details(admin, first_name="Root"))
    admin.refresh_from_db()
    assert admin.is_admin and admin.first_name == "Root"


def test_update_user_checks_email_and_role():
    user, other = RequesterFactory(), RequesterFactory()
    with pytest.raises(InvalidInput):
        services.update_user(actor=None, user=user, **_details(user, email="nope"))
    with pytest.raises(Conflict):
        services.update_user(actor=None, user=user, **_details(user, email=other.email.upper()))
    with pytest.raises(InvalidInput):
        services.update_user(actor=None, user=user, **_details(user, role="king"))
    services.update_user(actor=None, user=user, **_details(user, email=user.email.upper()))


def test_org_manager_flag_is_for_requesters_and_demotion_ends_memberships():
    agent = AgentFactory()
    group = GroupFactory(members=[agent])
    services.update_user(actor=None, user=agent, **_details(agent, is_org_manager=True))
    agent.refresh_from_db()
    assert not agent.is_org_manager
    services.update_user(
        actor=None, user=agent, **_details(agent, role=Role.REQUESTER, is_org_manager=True)
    )
    agent.refresh_from_db()
    assert agent.is_org_manager and not group.members.exists()


def test_nobody_deactivates_themself():
    for actor in (SupervisorFactory(), AdminFactory()):
        with pytest.raises(NotAllowed):
            services.set_user_active(actor=actor, user=actor, active=False)
        actor.refresh_from_db()
        assert actor.is_active


def test_deactivation_revokes_tokens_and_reactivation_keeps_them_revoked():
    user = RequesterFactory()
    token, secret = services.create_api_token(user=user)
    services.set_user_active(actor=SupervisorFactory(), user=user, active=False)
    token.refresh_from_db()
    assert token.revoked_at is not None
    services.set_user_active(actor=None, user=user, active=True)
    user.refresh_from_db()
    assert user.is_active and services.authenticate_api_token(secret) is None


def test_supervisor_cannot_deactivate_an_admin():
    admin = AdminFactory()
    with pytest.raises(NotAllowed):
        services.set_user_active(actor=SupervisorFactory(), user=admin, active=False)
    services.set_user_active(actor=AdminFactory(), user=admin, active=False)
    admin.refresh_from_db()
    assert not admin.is_active


def test_set_user_groups():
    agent, requester = AgentFactory(), RequesterFactory()
    l1, l2 = GroupFactory(), GroupFactory()
    services.set_user_groups(actor=SupervisorFactory(), user=agent, groups=[l1, l2])
    assert set(agent.support_groups.all()) == {l1, l2}
    with pytest.raises(InvalidInput):
        services.set_user_groups(actor=None, user=requester, groups=[l1])
    services.set_user_groups(actor=None, user=requester, groups=[])
    with pytest.raises(NotAllowed):
        services.set_user_groups(actor=AgentFactory(), user=agent, groups=[])


def test_edit_user_is_all_or_nothing():
    agent = AgentFactory(first_name="Old")
    group = GroupFactory(members=[agent])
    with pytest.raises(InvalidInput):
        services.edit_user(
            actor=SupervisorFactory(),
            user=agent,
            is_active=False,
            groups=[group],
            **_details(agent, first_name="New", role=Role.REQUESTER),
        )
    agent = User.objects.get(pk=agent.pk)
    assert (agent.first_name, agent.role, agent.is_active) == ("Old", Role.AGENT, True)
    assert list(agent.support_groups.all()) == [group]


def test_update_group():
    agent, requester, org = AgentFactory(), RequesterFactory(), OrganizationFactory()
    group = GroupFactory(members=[agent])
    services.update_group(
        actor=SupervisorFactory(),
        group=group,
        name=" Network ",
        tier=2,
        description="Wi-Fi",
        is_active=False,
        members=[],
        organizations=[org],
    )
    group.refresh_from_db()
    assert (group.name, group.tier, group.is_active) == ("Network", 2, False)
    assert not group.members.exists() and list(group.organizations.all()) == [org]
    with pytest.raises(InvalidInput):
        services.update_group(actor=None, group=group, name="N", tier=1, members=[requester])
    with pytest.raises(InvalidInput):
        services.update_group(actor=None, group=group, name="N", tier=0)
    with pytest.raises(InvalidInput):
        services.update_group(actor=None, group=group, name="", tier=1)
    with pytest.raises(NotAllowed):
        services.update_group(actor=AgentFactory(), group=group, name="N", tier=1)


def test_managed_users_filters():
    acme = OrganizationFactory()
    ann = RequesterFactory(username="ann", first_name="Ann", last_name="Lee", organization=acme)
    RequesterFactory(username="bo", is_active=False)
    agent = AgentFactory(username="cy", email="cy@desk.example")
    supervisor = SupervisorFactory(username="sup")

    def found(**filters):
        users = selectors.managed_users(supervisor, selectors.UserFilters(**filters))
        return [u.username for u in users]

    assert found(role=Role.AGENT) == [agent.username]
    assert found(organization=acme) == [ann.username]
    assert found(active=False) == ["bo"]
    assert found(text="ann lee") == ["ann"]
    assert found(text="DESK.example") == ["cy"]
    assert selectors.managed_users(agent, selectors.UserFilters()).count() == 0


def test_managed_lists_count_members():
    org = OrganizationFactory()
    RequesterFactory.create_batch(2, organization=org)
    GroupFactory(members=AgentFactory.create_batch(3))
    supervisor = SupervisorFactory()
    assert [o.member_count for o in selectors.managed_organizations(supervisor)] == [2]
    assert [g.member_count for g in selectors.managed_groups(supervisor)] == [3]
    assert not selectors.managed_groups(AgentFactory()).exists()
    counts = selectors.management_counts(supervisor)
    assert counts == {"organizations": 1, "users": 7, "active_users": 7, "groups": 1}
