"""'Document the fix': a resolved ticket becomes a draft article that a supervisor publishes."""

import pytest
from django.urls import reverse

from firstline.core.errors import InvalidInput, NotAllowed
from firstline.kb import selectors, services
from firstline.kb.models import ArticleStatus, Visibility
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(desk, new_ticket):
    ticket = new_ticket(
        subject="Outlook asks for the password again and again",
        description="Since this morning Outlook keeps asking for my password.",
    )
    agent = desk.l1_agent
    ticket_services.add_comment(
        actor=agent,
        ticket=ticket,
        body="Internal: checked the logs.",
        public=False,
        channel=Channel.WEB,
    )
    ticket_services.add_comment(
        actor=agent,
        ticket=ticket,
        body="Remove the saved credentials in Credential Manager.",
        public=True,
        channel=Channel.WEB,
    )
    ticket_services.add_comment(
        actor=desk.alice,
        ticket=ticket,
        body="That fixed it, thanks!",
        public=True,
        channel=Channel.WEB,
    )
    return ticket_services.update_ticket(
        actor=agent, ticket=ticket, channel=Channel.WEB, status=Status.RESOLVED
    )


def test_the_draft_holds_the_problem_and_the_last_public_agent_reply(desk, resolved):
    draft = services.document_fix(actor=desk.l1_agent, ticket=resolved)
    assert draft.status == ArticleStatus.DRAFT and draft.visibility == Visibility.INTERNAL
    assert draft.title == resolved.subject and draft.source_ticket == resolved
    assert "keeps asking for my password" in draft.body
    assert "Credential Manager" in draft.body
    assert "Internal: checked" not in draft.body and "That fixed it" not in draft.body
    assert draft not in selectors.visible_articles(desk.l1_agent)


def test_an_open_ticket_cannot_be_documented_yet(desk, new_ticket):
    with pytest.raises(InvalidInput):
        services.document_fix(actor=desk.l1_agent, ticket=new_ticket())


def test_the_whole_flow_through_the_pages(client, desk, resolved):
    client.force_login(desk.l1_agent)
    ticket_page = client.get(reverse("desk:ticket", args=[resolved.pk])).content.decode()
    assert reverse("kb:document", args=[resolved.pk]) in ticket_page
    response = client.post(reverse("kb:document", args=[resolved.pk]))
    draft = selectors.documented_by(desk.l1_agent, resolved).get()
    assert response.url == reverse("kb:manage_edit", args=[draft.pk])
    # The agent cannot publish it ...
    status_url = reverse("kb:manage_status", args=[draft.pk])
    assert client.post(status_url, {"status": "published"}).status_code == 403
    # ... the supervisor reviews it, makes it public and publishes it.
    client.force_login(desk.supervisor)
    edit = {
        "title": "Outlook keeps asking for the password",
        "body": draft.body,
        "language": "en",
        "visibility": "public",
        "version": draft.version,
    }
    assert client.post(reverse("kb:manage_edit", args=[draft.pk]), edit).status_code == 302
    assert client.post(status_url, {"status": "published"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == ArticleStatus.PUBLISHED and draft.published_at is not None
    client.force_login(desk.carol)
    assert client.get(reverse("kb:article", args=[draft.pk])).status_code == 200


def test_agents_cannot_publish_through_the_services(desk, resolved):
    draft = services.document_fix(actor=desk.l1_agent, ticket=resolved)
    with pytest.raises(NotAllowed):
        services.update_article(actor=desk.l1_agent, article=draft, status="published")
    with pytest.raises(NotAllowed):
        services.document_fix(actor=desk.alice, ticket=resolved)
