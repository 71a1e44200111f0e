import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from firstline.tickets import services
from firstline.tickets.models import Comment, Status, Ticket, TicketEvent

from ..factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, desk):
    client.force_login(desk.l1_agent)
    return client


def desk_urls(number):
    gets = [
        reverse("desk:home"),
        reverse("desk:queue", args=["mine"]),
        reverse("desk:queue", args=["unassigned"]),
        reverse("desk:new_ticket"),
        reverse("desk:ticket", args=[number]),
    ]
    posts = [
        reverse(name, args=[number])
        for name in ("desk:reply", "desk:update", "desk:merge", "desk:link", "desk:take")
    ] + [reverse("desk:escalate", args=[number, "up"]), reverse("desk:bulk")]
    return gets, posts


def test_requester_cannot_open_any_desk_page(client, desk, new_ticket):
    ticket = new_ticket()
    client.force_login(desk.alice)
    gets, posts = desk_urls(ticket.pk)
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, {"body": "x", "into": 1}).status_code == 403, url
    assert not Comment.objects.exists()


def test_anonymous_is_sent_to_login(client, desk):
    response = client.get(reverse("desk:queue", args=["mine"]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_agent_cannot_see_a_ticket_outside_their_groups_unless_assigned(client, desk, new_ticket):
    ticket = services.escalate_ticket(
        actor=desk.supervisor, ticket=new_ticket(), reason="r", channel="web"
    )
    client.force_login(desk.l1_agent)
    assert client.get(reverse("desk:ticket", args=[ticket.pk])).status_code == 404
    desk.l2.members.add(desk.l1_agent)
    assert client.get(reverse("desk:ticket", args=[ticket.pk])).status_code == 200


def test_unassigned_queue_lists_new_tickets_of_my_groups(agent_client, desk, new_ticket):
    mine = new_ticket(subject="Outlook keeps asking for password")
    other = services.escalate_ticket(
        actor=desk.supervisor,
        ticket=new_ticket(subject="Server room too warm"),
        reason="r",
        channel="web",
    )
    response = agent_client.get(reverse("desk:queue", args=["unassigned"]))
    assert response.status_code == 200
    assert mine.subject in response.content.decode()
    assert other.subject not in response.content.decode()


def test_htmx_filter_returns_only_the_table(agent_client, desk, new_ticket):
    new_ticket(subject="VPN drops every hour")
    new_ticket(subject="Printer jam")
    response = agent_client.get(
        reverse("desk:queue", args=["unassigned"]),
        {"q": "VPN"},
        headers={"HX-Request": "true", "HX-Target": "ticket-list"},
    )
    body = response.content.decode()
    assert "VPN drops every hour" in body and "Printer jam" not in body
    assert "<html" not in body


def test_bad_filter_value_shows_an_error_not_a_500(agent_client):
    response = agent_client.get(reverse("desk:queue", args=["mine"]), {"status": "bogus"})
    assert response.status_code == 200
    assert "error-summary" in response.content.decode()


def test_unknown_queue_is_404(agent_client):
    assert agent_client.get(reverse("desk:queue", args=["group-nope"])).status_code == 404
    assert agent_client.get(reverse("desk:queue", args=["all"])).status_code == 404


def test_agent_replies_publicly_and_internally_with_a_file(agent_client, desk, new_ticket):
    ticket = new_ticket()
    url = reverse("desk:reply", args=[ticket.pk])
    agent_client.post(url, {"body": "Known issue", "visibility": "internal"})
    response = agent_client.post(
        url,
        {
            "body": "Please restart",
            "visibility": "public",
            "files": SimpleUploadedFile("steps.txt", b"1. restart"),
        },
    )
    assert response.status_code == 302
    page = agent_client.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "Known issue" in page and "Please restart" in page and "steps.txt" in page
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_empty_reply_shows_an_error_and_keeps_nothing(agent_client, new_ticket):
    ticket = new_ticket()
    response = agent_client.post(reverse("desk:reply", args=[ticket.pk]), {"body": ""})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not Comment.objects.exists()


def props(ticket, **changes):
    data = {
        "version": ticket.version,
        "status": ticket.status,
        "priority": ticket.priority_key,
        "category": "",
        "group": ticket.group_id or "",
        "assignee": ticket.assignee_id or "",
        "tags": "",
    }
    return {**data, **changes}


def test_properties_are_saved_and_recorded(agent_client, desk, new_ticket):
    ticket = new_ticket()
    response = agent_client.post(
        reverse("desk:update", args=[ticket.pk]),
        props(ticket, priority="urgent", assignee=desk.l1_agent.pk, tags="printer, floor3"),
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.priority_key, ticket.assignee, ticket.status) == (
        "urgent",
        desk.l1_agent,
        "open",
    )
    assert sorted(t.name for t in ticket.tags.all()) == ["floor3", "printer"]
    fields = set(TicketEvent.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"priority", "assignee", "status", "tags"} <= fields


def test_stale_save_shows_what_changed_and_keeps_the_agents_input(agent_client, desk, new_ticket):
    ticket = new_ticket()
    stale = props(ticket, priority="urgent", tags="mine")
    services.update_ticket(actor=desk.supervisor, ticket=ticket, channel="web", priority="low")
    response = agent_client.post(reverse("desk:update", args=[ticket.pk]), stale)
    assert response.status_code == 409
    page = response.content.decode()
    assert "changed since you opened it" in page
    assert "normal" in page and "low" in page  # the other agent's change is listed
    assert 'value="mine"' in page  # the agent's typing is still in the form
    assert 'name="version" value="2"' in page
    ticket.refresh_from_db()
    assert ticket.priority_key == "low"


def test_invalid_transition_is_a_form_error(agent_client, new_ticket):
    ticket = new_ticket()
    response = agent_client.post(
        reverse("desk:update", args=[ticket.pk]), props(ticket, status="closed")
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()


def test_escalate_needs_a_reason_and_then_moves_the_ticket(agent_client, desk, new_ticket):
    ticket = new_ticket()
    url = reverse("desk:escalate", args=[ticket.pk, "up"])
    response = agent_client.post(url, {"up-reason": ""})
    assert response.status_code == 400
    response = agent_client.post(url, {"up-reason": "Hardware swap needed"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.group == desk.l2


def test_merge_into_an_invisible_ticket_is_a_form_error(agent_client, desk, new_ticket):
    ticket = new_ticket()
    hidden = services.escalate_ticket(
        actor=desk.supervisor, ticket=new_ticket(), reason="r", channel="web"
    )
    response = agent_client.post(reverse("desk:merge", args=[ticket.pk]), {"into": hidden.pk})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_new_ticket_on_behalf_records_the_channel(agent_client, desk):
    response = agent_client.post(
        reverse("desk:new_ticket"),
        {
            "requester": "carol@example.com",
            "channel": "phone",
            "subject": "Laptop won't boot",
            "priority": "high",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Laptop won't boot")
    assert (ticket.requester, ticket.channel, ticket.organization) == (
        desk.carol,
        "phone",
        desk.globex,
    )


def test_new_ticket_with_unknown_requester_is_a_form_error(agent_client):
    response = agent_client.post(
        reverse("desk:new_ticket"),
        {"requester": "nobody", "channel": "phone", "subject": "x", "priority": "normal"},
    )
    assert response.status_code == 400
    assert "Nobody with this username" in response.content.decode()


def test_bulk_assign_reports_changed_and_refused(agent_client, desk, new_ticket):
    ok = new_ticket()
    closed = services.update_ticket(
        actor=desk.supervisor, ticket=new_ticket(), channel="web", status="resolved"
    )
    services.update_ticket(actor=desk.supervisor, ticket=closed, channel="web", status="closed")
    response = agent_client.post(
        reverse("desk:bulk"),
        {"tickets": [ok.pk, closed.pk], "priority": "high", "queue": "unassigned"},
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{ok.pk}" in t and "Changed 1" in t for t in texts)
    assert any(f"#{closed.pk} not changed" in t for t in texts)


def test_saved_filter_appears_in_the_sidebar(agent_client):
    agent_client.post(
        reverse("desk:save_filter"), {"name": "Urgent VPN", "queue": "mine", "query": "q=VPN"}
    )
    page = agent_client.get(reverse("desk:queue", args=["mine"])).content.decode()
    assert "Urgent VPN" in page and "?q=VPN" in page


def test_queue_page_query_count_does_not_grow_with_rows(
    client, desk, new_ticket, django_assert_max_num_queries
):
    client.force_login(desk.supervisor)
    url = reverse("desk:queue", args=["all"])
    for _ in range(3):
        new_ticket()
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for i in range(40):
        services.create_ticket(
            actor=desk.l1_agent,
            requester=desk.carol,
            subject=f"T{i}",
            tags=["x"],
            assignee=desk.l1_agent,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_ticket_page_query_count_does_not_grow_with_conversation(
    client, desk, new_ticket, django_assert_max_num_queries
):
    client.force_login(desk.supervisor)
    ticket = new_ticket()
    url = reverse("desk:ticket", args=[ticket.pk])
    services.add_comment(actor=desk.l1_agent, ticket=ticket, body="a", channel="web")
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for i in range(20):
        services.post_reply(
            actor=desk.l1_agent,
            ticket=ticket,
            body=f"reply {i}",
            channel="web",
            uploads=[(SimpleUploadedFile(f"f{i}.txt", b"x"), f"f{i}.txt", "text/plain")],
        )
        new_ticket()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_other_agent_outside_group_gets_404_on_actions(client, desk, new_ticket):
    ticket = new_ticket()
    client.force_login(AgentFactory())
    assert client.post(reverse("desk:reply", args=[ticket.pk]), {"body": "x"}).status_code == 404
