"""The knowledge base beside a ticket on the desk: suggestions, inserting into the reply,
and "solved by this article"."""

import pytest
from django.urls import reverse

from firstline.kb import selectors
from firstline.kb.models import SolvedBy

pytestmark = pytest.mark.django_db


@pytest.fixture
def printer_ticket(new_ticket):
    return new_ticket(subject="Printer jams on every page", description="Tray 1 is stuck.")


def test_the_ticket_page_loads_the_panel_with_htmx(client, desk, printer_ticket):
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:ticket", args=[printer_ticket.pk])).content.decode()
    assert f'hx-get="{reverse("kb:ticket_panel", args=[printer_ticket.pk])}"' in page


def test_suggestions_match_the_subject_and_include_internal_articles(
    client, desk, printer_ticket, article
):
    article(title="Printer jams: clear the paper path", body="Open the side door.")
    article(title="Printer firmware runbook", body="Flash it.", visibility="internal")
    article(title="VPN basics", body="Install the client.")
    client.force_login(desk.l1_agent)
    url = reverse("kb:ticket_panel", args=[printer_ticket.pk])
    page = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Printer jams: clear the paper path" in page
    assert "Printer firmware runbook" in page
    assert "VPN basics" not in page
    assert "<html" not in page
    assert "<html" in client.get(url).content.decode()  # without JavaScript: a whole page


def test_suggestions_add_articles_of_the_same_category(desk, new_ticket, article):
    from tests.factories import CategoryFactory

    wifi = CategoryFactory(name="Wi-Fi")
    article(title="Joining the office wireless", body="Choose CORP.", category=wifi)
    ticket = new_ticket(subject="Cannot get online", category=wifi)
    titles = [a.title for a in selectors.suggestions_for_ticket(desk.l1_agent, ticket)]
    assert titles == ["Joining the office wireless"]


def test_inserting_a_link_or_the_text_keeps_what_was_typed(client, desk, printer_ticket, article):
    item = article(title="Clear a paper jam", body="Open the **side door**.")
    client.force_login(desk.l1_agent)
    url = reverse("kb:insert", args=[printer_ticket.pk, item.pk])
    typed = {"body": "Hello Alice,", "visibility": "internal"}
    page = client.get(url, {**typed, "mode": "link"}).content.decode()
    assert "Hello Alice,\n\nClear a paper jam: http://testserver/kb/articles/" in page
    assert 'id="reply-body"' in page
    page = client.get(url, {**typed, "mode": "text"}).content.decode()
    assert "Hello Alice,\n\nOpen the **side door**." in page


def test_solved_by_this_article_counts_once_per_ticket(client, desk, printer_ticket, article):
    item = article(title="Clear a paper jam")
    client.force_login(desk.l1_agent)
    url = reverse("kb:solved", args=[printer_ticket.pk, item.pk])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    assert SolvedBy.objects.filter(article=item).count() == 1
    listed = selectors.with_usage(selectors.manageable_articles(desk.l1_agent)).get(pk=item.pk)
    assert listed.solved_count == 1
    panel = client.get(reverse("kb:ticket_panel", args=[printer_ticket.pk])).content.decode()
    assert "Solved by" in panel


def test_an_agent_cannot_use_the_panel_on_a_ticket_they_cannot_see(
    client, desk, new_ticket, article
):
    ticket = new_ticket()
    ticket.group = desk.l3
    ticket.save(update_fields=["group"])
    item = article()
    client.force_login(desk.l2_agent)
    assert client.get(reverse("kb:ticket_panel", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("kb:solved", args=[ticket.pk, item.pk])).status_code == 404
    assert client.post(reverse("kb:document", args=[ticket.pk])).status_code == 404
    client.force_login(desk.alice)
    assert client.get(reverse("kb:ticket_panel", args=[ticket.pk])).status_code == 403


def test_an_inserted_link_uses_the_public_base_url(client, desk, settings, new_ticket, article):
    settings.FIRSTLINE_BASE_URL = "https://help.example.com/"
    ticket, item = new_ticket(), article(title="Reset your password")
    client.force_login(desk.l1_agent)
    page = client.get(reverse("kb:insert", args=[ticket.pk, item.pk]), {"mode": "link"})
    expected = f"Reset your password: https://help.example.com/kb/articles/{item.pk}/"
    assert expected in page.content.decode()
