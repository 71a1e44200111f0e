from django.urls import reverse

from firstline.accounts.models import Group


def _group_data(**changes):
    data = {"name": "Network", "tier": 2, "description": "Switches and Wi-Fi", **changes}
    return {key: value for key, value in data.items() if value not in ("", None)}


def test_supervisor_creates_a_group_with_members(as_supervisor, desk):
    data = _group_data(
        slug="net", members=[desk.l1_agent.pk, desk.l2_agent.pk], organizations=[desk.acme.pk]
    )
    response = as_supervisor.post(reverse("manage:group_create"), data)
    assert response.status_code == 302
    assert response.url == reverse("manage:group_edit", args=["net"])
    group = Group.objects.get(slug="net")
    assert (group.name, group.tier, group.description) == ("Network", 2, "Switches and Wi-Fi")
    assert set(group.members.all()) == {desk.l1_agent, desk.l2_agent}
    assert list(group.organizations.all()) == [desk.acme]


def test_requesters_are_not_offered_and_not_accepted_as_members(as_supervisor, desk):
    page = as_supervisor.get(reverse("manage:group_create")).content.decode()
    assert "l1agent" in page and "alice" not in page
    data = _group_data(slug="net", members=[desk.alice.pk])
    response = as_supervisor.post(reverse("manage:group_create"), data)
    assert "Select a valid choice" in response.content.decode()
    assert not Group.objects.filter(slug="net").exists()


def test_duplicate_and_bad_slugs_are_shown(as_supervisor):
    url = reverse("manage:group_create")
    page = as_supervisor.post(url, _group_data(slug="l1")).content.decode()
    assert "A group &#x27;l1&#x27; already exists." in page and 'value="Network"' in page
    page = as_supervisor.post(url, _group_data(slug="a b", tier=0)).content.decode()
    assert "Ensure this value is greater than or equal to 1." in page


def test_edit_members_organizations_and_activity(as_supervisor, desk):
    url = reverse("manage:group_edit", args=["l1"])
    page = as_supervisor.get(url).content.decode()
    assert "<legend>Members</legend>" in page
    data = _group_data(name="Front line", tier=1, members=[desk.l2_agent.pk, desk.supervisor.pk])
    data["organizations"] = [desk.acme.pk, desk.globex.pk]
    assert as_supervisor.post(url, data).status_code == 302  # is_active left unticked
    desk.l1.refresh_from_db()
    assert desk.l1.name == "Front line" and not desk.l1.is_active
    assert set(desk.l1.members.all()) == {desk.l2_agent, desk.supervisor}
    assert set(desk.l1.organizations.all()) == {desk.acme, desk.globex}
    data = _group_data(name="Front line", tier=1, is_active="on")
    as_supervisor.post(url, data)
    desk.l1.refresh_from_db()
    assert desk.l1.is_active
    assert not desk.l1.members.exists() and not desk.l1.organizations.exists()


def test_group_list_shows_counts_and_who_is_served(as_supervisor, desk):
    desk.l2.organizations.set([desk.globex])
    response = as_supervisor.get(reverse("manage:groups"))
    rows = {g.slug: g for g in response.context["groups"]}
    assert (rows["l1"].member_count, rows["l3"].member_count) == (1, 0)
    page = response.content.decode()
    assert "Globex" in page and ">All<" in page
