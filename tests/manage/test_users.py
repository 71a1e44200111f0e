from django.urls import reverse

from firstline.accounts.models import Role, User
from firstline.accounts.services import authenticate_api_token, create_api_token

from ..factories import AdminFactory, RequesterFactory


def _edit(person, **changes):
    """The edit form as the page would submit it, with some fields changed."""
    data = {
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "role": person.role,
        "organization": person.organization_id or "",
        "is_active": "on" if person.is_active else "",
        "groups": [g.pk for g in person.support_groups.all()],
        **changes,
    }
    return {key: value for key, value in data.items() if value not in ("", None, False)}


def _edit_url(person):
    return reverse("manage:user_edit", args=[person.username])


def test_supervisor_creates_a_requester(as_supervisor, desk):
    response = as_supervisor.post(
        reverse("manage:user_create"),
        {
            "username": "dave",
            "email": "dave@acme.example",
            "first_name": "Dave",
            "last_name": "Lister",
            "role": Role.REQUESTER,
            "organization": desk.acme.pk,
            "is_org_manager": "on",
            "password": "a-long-Unusual-passphrase-42",
        },
    )
    assert response.status_code == 302 and response.url == reverse(
        "manage:user_edit", args=["dave"]
    )
    dave = User.objects.get(username="dave")
    assert (dave.organization, dave.role, dave.is_org_manager) == (desk.acme, Role.REQUESTER, True)
    assert dave.check_password("a-long-Unusual-passphrase-42")


def test_user_without_a_password_cannot_log_in_yet(as_supervisor):
    as_supervisor.post(reverse("manage:user_create"), {"username": "eve", "role": Role.AGENT})
    assert not User.objects.get(username="eve").has_usable_password()


def test_bad_input_is_shown_and_kept(as_supervisor, desk):
    url = reverse("manage:user_create")
    data = {"username": "Alice", "email": "new@example.com", "first_name": "Al", "role": "agent"}
    page = as_supervisor.post(url, data).content.decode()
    assert "The username &#x27;Alice&#x27; is taken." in page
    assert 'value="new@example.com"' in page and 'value="Al"' in page
    page = as_supervisor.post(url, {**data, "username": "al", "email": "nope"}).content.decode()
    assert "Enter a valid email address." in page
    page = as_supervisor.post(url, {**data, "username": "al", "email": desk.bob.email.upper()})
    assert "is already in use" in page.content.decode()
    page = as_supervisor.post(url, {**data, "username": "al", "password": "123"}).content.decode()
    assert "This password is too short." in page
    assert not User.objects.filter(username="al").exists()


def test_supervisor_cannot_create_an_admin_or_a_supervisor(as_supervisor):
    for role in (Role.ADMIN, Role.SUPERVISOR):
        response = as_supervisor.post(
            reverse("manage:user_create"), {"username": f"new-{role}", "role": role}
        )
        assert response.status_code == 200
        assert "Only administrators can create supervisors" in response.content.decode()
    assert not User.objects.filter(username__startswith="new-").exists()


def test_supervisor_cannot_promote_to_supervisor(as_supervisor, desk):
    agent = desk.l1_agent
    response = as_supervisor.post(_edit_url(agent), _edit(agent, role=Role.SUPERVISOR))
    assert response.status_code == 200
    assert "Only administrators can grant" in response.content.decode()
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_supervisor_cannot_change_an_admin(as_supervisor, admin):
    page = as_supervisor.get(_edit_url(admin)).content.decode()
    assert "Only administrators can change supervisors and administrators." in page
    assert '<form method="post" class="stacked"' not in page
    response = as_supervisor.post(_edit_url(admin), _edit(admin, first_name="Hacked"))
    assert response.status_code == 200
    admin.refresh_from_db()
    assert admin.first_name != "Hacked"


def test_admin_creates_an_admin_and_promotes_an_agent(as_admin, desk):
    response = as_admin.post(reverse("manage:user_create"), {"username": "root2", "role": "admin"})
    assert response.status_code == 302
    root2 = User.objects.get(username="root2")
    assert root2.is_admin and root2.is_staff and root2.is_superuser
    agent = desk.l1_agent
    assert as_admin.post(_edit_url(agent), _edit(agent, role=Role.SUPERVISOR)).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.SUPERVISOR


def test_supervisor_edits_an_agent_and_their_groups(as_supervisor, desk):
    agent = desk.l1_agent
    data = _edit(agent, first_name="Lena", groups=[desk.l1.pk, desk.l2.pk])
    assert as_supervisor.post(_edit_url(agent), data).status_code == 302
    agent.refresh_from_db()
    assert agent.first_name == "Lena"
    assert set(agent.support_groups.all()) == {desk.l1, desk.l2}


def test_a_requester_has_no_groups(as_supervisor, desk):
    page = as_supervisor.get(_edit_url(desk.alice)).content.decode()
    assert 'name="groups"' not in page
    agent = desk.l1_agent
    response = as_supervisor.post(_edit_url(agent), _edit(agent, role=Role.REQUESTER))
    assert "A requester cannot be a member of a group." in response.content.decode()
    agent.refresh_from_db()
    assert agent.role == Role.AGENT and desk.l1 in agent.support_groups.all()
    data = _edit(agent, role=Role.REQUESTER, groups=[])
    assert as_supervisor.post(_edit_url(agent), data).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.REQUESTER and not agent.support_groups.exists()


def test_nobody_can_deactivate_themself(as_admin, admin):
    response = as_admin.post(_edit_url(admin), _edit(admin, is_active=""))
    assert "You cannot deactivate your own account." in response.content.decode()
    response = as_admin.post(_edit_url(admin), _edit(admin, role=Role.AGENT))
    assert "You cannot remove your own administrator role." in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and admin.is_admin


def test_deactivation_revokes_api_tokens(as_supervisor, desk):
    _, secret = create_api_token(user=desk.bob)
    response = as_supervisor.post(_edit_url(desk.bob), _edit(desk.bob, is_active=""))
    assert response.status_code == 302
    desk.bob.refresh_from_db()
    assert not desk.bob.is_active
    assert not desk.bob.api_tokens.filter(revoked_at__isnull=True).exists()
    assert authenticate_api_token(secret) is None


def test_admin_deactivates_another_admin(as_admin):
    other = AdminFactory()
    assert as_admin.post(_edit_url(other), _edit(other, is_active="")).status_code == 302
    other.refresh_from_db()
    assert not other.is_active


def test_edit_keeps_typed_input_on_error(as_supervisor, desk):
    data = _edit(desk.alice, email=desk.bob.email, first_name="Alicia")
    page = as_supervisor.post(_edit_url(desk.alice), data).content.decode()
    assert "is already in use" in page and 'value="Alicia"' in page
    desk.alice.refresh_from_db()
    assert desk.alice.first_name != "Alicia"


def test_filters_and_search(as_supervisor, desk):
    RequesterFactory(username="zed", first_name="Zoe", last_name="Quartz", is_active=False)
    url = reverse("manage:users")

    def usernames(**params):
        response = as_supervisor.get(url, params)
        return [u.username for u in response.context["page"]]

    assert usernames(role="agent") == ["l1agent", "l2agent"]
    assert usernames(organization=desk.acme.pk) == ["acmeboss", "alice", "bob"]
    assert usernames(active="no") == ["zed"]
    assert usernames(q="zoe quartz") == ["zed"]
    assert usernames(q="CAROL@") == ["carol"]
    assert usernames(role="agent", q="l2") == ["l2agent"]
    assert "Select a valid choice" in as_supervisor.get(url, {"role": "king"}).content.decode()


def test_users_are_paginated_and_keep_their_filters(as_supervisor, desk):
    RequesterFactory.create_batch(55, organization=desk.globex)
    response = as_supervisor.get(reverse("manage:users"), {"organization": desk.globex.pk})
    page = response.content.decode()
    assert len(response.context["page"]) == 50
    assert f"?organization={desk.globex.pk}&amp;page=2" in page
    response = as_supervisor.get(
        reverse("manage:users"), {"organization": desk.globex.pk, "page": 2}
    )
    assert len(response.context["page"]) == 6


def test_usernames_are_checked_and_odd_existing_ones_still_work(as_supervisor):
    response = as_supervisor.post(
        reverse("manage:user_create"), {"username": "a/b c", "role": "requester"}
    )
    assert "Enter a valid username." in response.content.decode()
    odd = RequesterFactory(username="x/y")  # e.g. imported before the check existed
    assert as_supervisor.get(reverse("manage:users")).status_code == 200
    assert as_supervisor.get(_edit_url(odd)).status_code == 200
