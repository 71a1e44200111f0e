"""Macros: placeholders that leak nothing, the picker in the reply box, field changes on send."""

import pytest
from django.urls import reverse

from firstline.automation import placeholders, selectors, services
from firstline.automation.models import Macro
from firstline.core.errors import InvalidInput, NotAllowed
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Comment, Status, TicketEvent

from ..factories import RequesterFactory

pytestmark = pytest.mark.django_db


def macro(name="Ask for details", body="Hello {{ requester.first_name }}", **changes):
    return services.create_macro(actor=None, name=name, body=body, changes=changes)


@pytest.fixture
def agent(client, desk):
    client.force_login(desk.l1_agent)
    return client


@pytest.fixture
def ticket(desk):
    dana = RequesterFactory(
        username="dana", first_name="Dana", last_name="Scully", organization=desk.acme
    )
    return ticket_services.create_ticket(actor=dana, subject="VPN drops", channel="web")


def test_placeholders_are_filled_in(desk, ticket):
    m = macro(
        body="Hello {{ requester.first_name }},\n#{{ ticket.number }} ({{ ticket.subject }}) is "
        "{{ ticket.status }}, {{ ticket.priority }}. {{organization.name}} — {{ agent.name }}"
    )
    text = selectors.render_macro(desk.l1_agent, ticket, m)
    assert text == (
        f"Hello Dana,\n#{ticket.pk} (VPN drops) is New, Normal. Acme — {desk.l1_agent.display_name}"
    )


def test_macros_never_reach_internal_data(desk, ticket):
    ticket_services.add_comment(
        actor=desk.l1_agent, ticket=ticket, body="SECRET internal", channel="web", public=False
    )
    for body in (
        "{{ requester.password }}",
        "{{ ticket.requester.password }}",
        "{{ ticket.comments }}",
        "{{ settings.SECRET_KEY }}",
        "{{ ticket.group }}",
    ):
        with pytest.raises(InvalidInput):
            macro(name=body, body=body)
    # Even stored behind the services' back, nothing but the offered names is filled in, and
    # text is never evaluated as a template.
    sneaky = Macro.objects.create(
        name="Sneaky",
        body="{{ requester.password }} {% debug %} {{ ticket.comments.all.0.body }} "
        "{% include 'desk/ticket.html' %} {{ requester.first_name }}",
    )
    text = selectors.render_macro(desk.l1_agent, ticket, sneaky)
    assert text == (
        "{{ requester.password }} {% debug %} {{ ticket.comments.all.0.body }} "
        "{% include 'desk/ticket.html' %} Dana"
    )
    values = placeholders.values_for(ticket, agent=desk.l1_agent)
    assert set(values) == set(placeholders.NAMES)
    assert ticket.requester.password not in values.values()
    assert not any("SECRET" in v for v in values.values())


def test_invalid_macros_are_refused(desk):
    with pytest.raises(InvalidInput):
        services.create_macro(actor=None, name="x", body="", changes={})
    with pytest.raises(InvalidInput):
        services.create_macro(actor=None, name="x", body="y", changes={"status": "closed"})
    with pytest.raises(InvalidInput):
        services.create_macro(actor=None, name="x", body="y", changes={"group": "l2"})
    with pytest.raises(NotAllowed):
        services.create_macro(actor=desk.l1_agent, name="x", body="y", changes={})


def test_choosing_a_macro_adds_its_text_after_what_was_typed(agent, desk, ticket):
    m = macro(status="pending")
    response = agent.get(
        reverse("desk:macro_insert", args=[ticket.pk]),
        {"macro_pick": m.pk, "body": "I typed this first.", "visibility": "public"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="reply-body"' in html
    assert "I typed this first.\n\nHello Dana</textarea>" in html
    assert f'name="macros" value="{m.pk}" checked' in html
    assert "status: Pending" in html


def test_a_second_macro_keeps_the_first_and_a_macro_without_changes_is_text_only(
    agent, desk, ticket
):
    first = macro(priority="high")
    text_only = macro(name="Thanks", body="Thank you!")
    html = agent.get(
        reverse("desk:macro_insert", args=[ticket.pk]),
        {"macro_pick": text_only.pk, "body": "Hello Dana", "macros": [first.pk]},
    ).content.decode()
    assert "Hello Dana\n\nThank you!</textarea>" in html
    assert f'value="{first.pk}" checked' in html
    assert f'value="{text_only.pk}"' not in html


def test_an_unknown_or_inactive_macro_changes_nothing(agent, desk, ticket):
    m = macro()
    services.update_macro(actor=None, macro=m, name=m.name, body=m.body, is_active=False)
    for pick in (m.pk, 999999, "", "x"):
        html = agent.get(
            reverse("desk:macro_insert", args=[ticket.pk]), {"macro_pick": pick, "body": "Mine"}
        ).content.decode()
        assert 'id="id_body">\nMine</textarea>' in html


def test_the_picker_is_on_the_ticket_page_and_works_without_javascript(agent, desk, ticket):
    m = macro()
    url = reverse("desk:ticket", args=[ticket.pk])
    page = agent.get(url).content.decode()
    assert 'id="macro_pick"' in page and f'<option value="{m.pk}">Ask for details</option>' in page
    page = agent.get(url, {"macro_pick": m.pk, "body": "Typed", "visibility": "internal"})
    html = page.content.decode()
    assert "Typed\n\nHello Dana</textarea>" in html
    assert 'value="internal" id="id_visibility_1" required checked' in html


def test_sending_the_reply_applies_the_macros_changes(agent, desk, ticket):
    m = macro(status="pending", priority="high", add_tags=["needs-info"], assign_to_me=True)
    response = agent.post(
        reverse("desk:reply", args=[ticket.pk]),
        {"body": "Hello Dana, which VPN client?", "visibility": "public", "macros": [m.pk]},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority_key, ticket.assignee) == (
        Status.PENDING,
        "high",
        desk.l1_agent,
    )
    assert list(ticket.tags.values_list("name", flat=True)) == ["needs-info"]
    assert Comment.objects.get(ticket=ticket).body == "Hello Dana, which VPN client?"
    changes = TicketEvent.objects.filter(ticket=ticket, note=f"macro:{m.pk}:{m.name}")
    assert {e.field for e in changes} == {"status", "priority", "tags", "assignee"}
    assert {e.actor for e in changes} == {desk.l1_agent}
    history = agent.get(reverse("desk:ticket", args=[ticket.pk]) + "?tab=history")
    assert "with the macro “Ask for details”" in history.content.decode()


def test_a_refused_change_sends_nothing_and_keeps_the_text(agent, desk, ticket):
    m = macro(status="pending")
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", status="resolved"
    )
    response = agent.post(
        reverse("desk:reply", args=[ticket.pk]),
        {"body": "My long careful answer", "visibility": "public", "macros": [m.pk]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "My long careful answer</textarea>" in html
    assert f'name="macros" value="{m.pk}" checked' in html
    assert "error-summary" in html
    assert not Comment.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_unticked_macros_are_not_applied(agent, desk, ticket):
    macro(status="pending")
    agent.post(reverse("desk:reply", args=[ticket.pk]), {"body": "Hi", "visibility": "public"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_requesters_cannot_use_macros(client, desk, ticket):
    m = macro()
    client.force_login(desk.alice)
    url = reverse("desk:macro_insert", args=[ticket.pk])
    assert client.get(url, {"macro_pick": m.pk}).status_code == 403
    assert selectors.macros_for(desk.alice).count() == 0
    with pytest.raises(NotAllowed):
        services.reply_with_macros(
            actor=desk.alice, ticket=ticket, body="x", channel="web", macros=[m]
        )


def test_agents_cannot_use_macros_on_tickets_they_cannot_see(client, desk, ticket):
    m = macro()
    client.force_login(desk.l2_agent)
    url = reverse("desk:macro_insert", args=[ticket.pk])
    assert client.get(url, {"macro_pick": m.pk}).status_code == 404
