"""Who reads which article: public, internal and organization-limited articles, drafts and
archived ones, in the portal, on the desk, in search and in the API."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from firstline.kb import selectors
from firstline.kb.models import ArticleStatus, Visibility

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(desk, article):
    """One article of each kind, all about VPN so that one search finds them all."""
    return {
        "public": article(title="VPN setup for everyone", body="Install the VPN client."),
        "internal": article(
            title="VPN gateway restart runbook",
            body="Restart the VPN gateway from the console.",
            visibility=Visibility.INTERNAL,
        ),
        "acme": article(
            title="Acme VPN profile",
            body="Import the Acme VPN profile.",
            visibility=Visibility.ORGANIZATIONS,
            organizations=[desk.acme],
        ),
        "draft": article(title="VPN draft notes", status=ArticleStatus.DRAFT),
        "archived": article(title="Old VPN client", status=ArticleStatus.ARCHIVED),
    }


def titles(articles) -> set[str]:
    return {a.title for a in articles}


def test_the_visibility_rule_for_each_kind_of_reader(desk, library):
    everyone = {library["public"].title}
    assert titles(selectors.visible_articles(AnonymousUser())) == everyone
    assert titles(selectors.visible_articles(desk.carol)) == everyone  # globex
    assert titles(selectors.visible_articles(desk.alice)) == everyone | {library["acme"].title}
    published = {library[k].title for k in ("public", "internal", "acme")}
    assert titles(selectors.visible_articles(desk.l1_agent)) == published
    assert len(selectors.manageable_articles(desk.l1_agent)) == 5
    assert not selectors.manageable_articles(desk.alice).exists()


def test_an_inactive_requester_reads_what_anonymous_readers_read(desk, library):
    desk.alice.is_active = False
    desk.alice.save(update_fields=["is_active"])
    assert titles(selectors.visible_articles(desk.alice)) == {"VPN setup for everyone"}


@pytest.mark.parametrize(
    ("reader", "readable"),
    [
        ("anonymous", {"public"}),
        ("carol", {"public"}),
        ("alice", {"public", "acme"}),
        ("l1_agent", {"public", "acme", "internal"}),
    ],
)
def test_portal_article_pages(client, desk, library, reader, readable):
    if reader != "anonymous":
        client.force_login(getattr(desk, reader))
    for key, item in library.items():
        response = client.get(reverse("kb:article", args=[item.pk]))
        assert response.status_code == (200 if key in readable else 404), key


def test_portal_category_and_home_list_only_readable_articles(client, desk, library, article):
    from tests.factories import CategoryFactory

    network = CategoryFactory(name="Network")
    for item in library.values():
        item.category = network
        item.save(update_fields=["category"])
    client.force_login(desk.carol)
    page = client.get(reverse("kb:category", args=[network.pk])).content.decode()
    assert "VPN setup for everyone" in page
    assert "Acme VPN profile" not in page and "runbook" not in page
    home = client.get(reverse("kb:home")).content.decode()
    assert "Acme VPN profile" not in home and "draft notes" not in home


def test_desk_article_pages_are_for_agents_only(client, desk, library):
    draft = library["draft"]
    client.force_login(desk.alice)
    assert client.get(reverse("kb:manage_list")).status_code == 403
    assert client.get(reverse("kb:manage_article", args=[draft.pk])).status_code == 403
    client.force_login(desk.l1_agent)
    listing = client.get(reverse("kb:manage_list")).content.decode()
    assert "VPN draft notes" in listing and "Old VPN client" in listing
    assert client.get(reverse("kb:manage_article", args=[draft.pk])).status_code == 200


def test_search_hits_follow_the_visibility_rule(desk, library):
    def found(user):
        return {hit.title for hit in selectors.search_articles(user, "VPN")}

    assert found(AnonymousUser()) == {"VPN setup for everyone"}
    assert found(desk.carol) == {"VPN setup for everyone"}
    assert found(desk.alice) == {"VPN setup for everyone", "Acme VPN profile"}
    assert found(desk.l1_agent) == {
        "VPN setup for everyone",
        "Acme VPN profile",
        "VPN gateway restart runbook",
    }


def test_portal_search_page_shows_no_internal_article(client, desk, library):
    client.force_login(desk.carol)
    page = client.get(reverse("kb:search"), {"q": "VPN"}).content.decode()
    assert "VPN setup for everyone" in page
    assert "runbook" not in page and "Acme VPN profile" not in page


def test_api_reading_follows_the_visibility_rule(api, desk, library):
    carol, agent = api(desk.carol), api(desk.l1_agent)
    listed = {a["title"] for a in carol.get("kb/articles").json()["items"]}
    assert listed == {"VPN setup for everyone"}
    assert carol.get(f"kb/articles/{library['internal'].pk}").status_code == 404
    assert carol.get(f"kb/articles/{library['acme'].pk}").status_code == 404
    assert api(desk.alice).get(f"kb/articles/{library['acme'].pk}").status_code == 200
    body = agent.get(f"kb/articles/{library['draft'].pk}").json()
    assert body["status"] == "draft"
    assert len(agent.get("kb/articles").json()["items"]) == 5
    assert carol.get("kb/articles", status="draft").json()["items"] == []


def test_api_hides_audience_and_author_from_requesters(api, desk, library):
    body = api(desk.alice).get(f"kb/articles/{library['acme'].pk}").json()
    assert body["organizations"] == [] and body["author"] is None
    body = api(desk.l1_agent).get(f"kb/articles/{library['acme'].pk}").json()
    assert body["organizations"] == ["acme"] and body["author"]["username"] == "boss"
