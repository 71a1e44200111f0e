import pytest
from django.urls import reverse

from firstline.accounts.models import Organization, OrganizationDomain

PAGES = [
    ("manage:home", []),
    ("manage:organizations", []),
    ("manage:organization_create", []),
    ("manage:organization_edit", ["acme"]),
    ("manage:users", []),
    ("manage:user_create", []),
    ("manage:user_edit", ["alice"]),
    ("manage:groups", []),
    ("manage:group_create", []),
    ("manage:group_edit", ["l1"]),
    ("manage:categories", []),
    ("manage:category_create", []),
    ("manage:category_edit", ["CATEGORY"]),
]
ACTIONS = [
    ("manage:domain_add", ["acme"]),
    ("manage:domain_remove", ["acme"]),
]


def _url(name, args, category):
    return reverse(name, args=[category.pk if a == "CATEGORY" else a for a in args])


@pytest.mark.parametrize("who", ["alice", "l1_agent", "acme_manager"])
@pytest.mark.parametrize(("name", "args"), PAGES + ACTIONS)
def test_requesters_and_agents_get_403_everywhere(client, desk, hardware, who, name, args):
    client.force_login(getattr(desk, who))
    url = _url(name, args, hardware)
    assert client.get(url).status_code == 403
    post = client.post(url, {"slug": "x", "name": "X", "domain": "x.example", "role": "admin"})
    assert post.status_code == 403
    assert not Organization.objects.filter(slug="x").exists()
    assert not OrganizationDomain.objects.exists()


@pytest.mark.parametrize(("name", "args"), PAGES + ACTIONS)
def test_anonymous_people_are_sent_to_log_in(client, desk, hardware, name, args):
    response = client.get(_url(name, args, hardware))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", ["supervisor", "admin"])
@pytest.mark.parametrize(("name", "args"), PAGES)
def test_supervisors_and_admins_see_every_page(client, desk, admin, hardware, who, name, args):
    client.force_login(admin if who == "admin" else desk.supervisor)
    response = client.get(_url(name, args, hardware))
    assert response.status_code == 200
    assert 'aria-current="' in response.content.decode()


@pytest.mark.parametrize(("name", "args"), ACTIONS)
def test_actions_only_take_posts(as_supervisor, name, args, hardware):
    assert as_supervisor.get(_url(name, args, hardware)).status_code == 405


@pytest.mark.parametrize(
    "url",
    [
        "/manage/organizations/nope/edit/",
        "/manage/users/nobody/edit/",
        "/manage/groups/nope/edit/",
        "/manage/categories/999999/edit/",
    ],
)
def test_missing_objects_are_404(as_supervisor, url):
    assert as_supervisor.get(url).status_code == 404


def test_overview_links_to_the_sections_with_counts(as_supervisor, hardware):
    page = as_supervisor.get(reverse("manage:home")).content.decode()
    for name in ("organizations", "users", "groups", "categories"):
        assert f'href="{reverse("manage:" + name)}"' in page
    assert "2 organizations" in page
    assert "3 groups" in page
    assert "1 category" in page
