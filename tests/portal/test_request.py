import pytest

from firstline.tickets import services
from firstline.tickets.models import Channel, Status

pytestmark = pytest.mark.django_db


def url(ticket, suffix=""):
    return f"/requests/{ticket.pk}/{suffix}"


def set_status(ticket, status, actor):
    return services.update_ticket(actor=actor, ticket=ticket, channel=Channel.WEB, status=status)


def test_request_page_shows_public_replies_but_never_internal_notes(desk, new_ticket, login):
    ticket = new_ticket(description="Paper everywhere")
    agent = desk.l1_agent
    services.add_comment(
        actor=agent, ticket=ticket, body="Public answer", channel=Channel.WEB, public=True
    )
    services.add_comment(
        actor=agent, ticket=ticket, body="SECRET internal note", channel=Channel.WEB, public=False
    )
    html = login(desk.alice).get(url(ticket)).content.decode()
    assert "Paper everywhere" in html and "Public answer" in html
    assert "SECRET" not in html


def test_internal_attachments_are_neither_listed_nor_downloadable(desk, new_ticket, login, upload):
    ticket = new_ticket()
    hidden = services.add_attachment(
        actor=desk.l1_agent,
        ticket=ticket,
        file=upload("internal.txt"),
        filename="internal.txt",
        channel=Channel.WEB,
        public=False,
    )
    client = login(desk.alice)
    assert "internal.txt" not in client.get(url(ticket)).content.decode()
    assert client.get(url(ticket, f"attachments/{hidden.pk}/")).status_code == 404


def test_attachment_download_is_a_safe_file_response(desk, new_ticket, login, upload):
    ticket = new_ticket()
    attachment = services.add_attachment(
        actor=desk.alice,
        ticket=ticket,
        file=upload("page.html", b"<script>x</script>", "text/html"),
        filename="page.html",
        channel=Channel.WEB,
    )
    response = login(desk.alice).get(url(ticket, f"attachments/{attachment.pk}/"))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"<script>x</script>"


def test_reply_with_attachment_reopens_a_resolved_request(desk, new_ticket, login, upload):
    ticket = set_status(new_ticket(), Status.RESOLVED, desk.l1_agent)
    client = login(desk.alice)
    assert "Replying will reopen" in client.get(url(ticket)).content.decode()
    response = client.post(
        url(ticket, "reply/"), {"body": "Still broken", "attachments": [upload("again.png")]}
    )
    ticket.refresh_from_db()
    comment = ticket.comments.get()
    assert response.status_code == 302
    assert response["Location"] == url(ticket) + f"#reply-{comment.pk}"
    assert ticket.status == Status.OPEN
    assert (comment.author, comment.is_public, comment.channel) == (desk.alice, True, "web")
    assert [a.filename for a in comment.attachments.all()] == ["again.png"]
    html = client.get(url(ticket)).content.decode()
    assert "Still broken" in html and "again.png" in html


def test_empty_reply_shows_an_error(desk, new_ticket, login):
    ticket = new_ticket()
    response = login(desk.alice).post(url(ticket, "reply/"), {"body": " "})
    assert response.status_code == 200
    assert 'class="error-summary"' in response.content.decode()
    assert not ticket.comments.exists()


def test_mark_as_solved_then_reopen(desk, new_ticket, login):
    ticket = new_ticket()
    client = login(desk.alice)
    html = client.get(url(ticket)).content.decode()
    assert "Mark as solved" in html and ">Reopen<" not in html

    client.post(url(ticket, "solve/"), {"version": ticket.version})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    html = client.get(url(ticket)).content.decode()
    assert ">Reopen<" in html and "Mark as solved" not in html

    client.post(url(ticket, "reopen/"), {"version": ticket.version})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_stale_page_does_not_change_the_status(desk, new_ticket, login):
    ticket = new_ticket()
    stale_version = ticket.version
    services.add_comment(actor=desk.l1_agent, ticket=ticket, body="Try this", channel="web")
    response = login(desk.alice).post(
        url(ticket, "solve/"), {"version": stale_version}, follow=True
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert "changed since you opened it" in response.content.decode()


def test_status_changes_only_by_post(desk, new_ticket, login):
    ticket = new_ticket()
    assert login(desk.alice).get(url(ticket, "solve/")).status_code == 405


def test_closed_request_offers_a_new_request_instead_of_a_reply(desk, new_ticket, login):
    ticket = set_status(new_ticket(), Status.RESOLVED, desk.l1_agent)
    ticket = set_status(ticket, Status.CLOSED, desk.l1_agent)
    client = login(desk.alice)
    html = client.get(url(ticket)).content.decode()
    assert "This request is closed" in html and 'href="/requests/new/"' in html
    assert 'name="body"' not in html and "Mark as solved" not in html
    response = client.post(url(ticket, "reply/"), {"body": "Hello?"})
    assert "closed" in response.content.decode()
    assert not ticket.comments.exists()


def test_another_organizations_request_and_its_files_are_not_found(desk, new_ticket, login, upload):
    ticket = new_ticket(requester=desk.carol)
    attachment = services.add_attachment(
        actor=desk.carol, ticket=ticket, file=upload(), filename="x.png", channel=Channel.WEB
    )
    client = login(desk.alice)
    assert client.get(url(ticket)).status_code == 404
    assert client.get(url(ticket, f"attachments/{attachment.pk}/")).status_code == 404
    assert client.post(url(ticket, "reply/"), {"body": "hi"}).status_code == 404
    assert client.post(url(ticket, "solve/")).status_code == 404
    assert not ticket.comments.exists()


def test_attachment_of_another_ticket_is_not_found_through_my_ticket(
    desk, new_ticket, login, upload
):
    mine = new_ticket(requester=desk.alice)
    theirs = new_ticket(requester=desk.carol)
    attachment = services.add_attachment(
        actor=desk.carol, ticket=theirs, file=upload(), filename="x.png", channel=Channel.WEB
    )
    assert login(desk.alice).get(url(mine, f"attachments/{attachment.pk}/")).status_code == 404


def test_a_colleagues_request_is_not_found_for_a_requester(desk, new_ticket, login):
    ticket = new_ticket(requester=desk.bob)
    assert login(desk.alice).get(url(ticket)).status_code == 404


def test_org_manager_follows_a_colleagues_request(desk, new_ticket, login):
    ticket = new_ticket(requester=desk.bob, subject="Bob laptop")
    response = login(desk.acme_manager).get(url(ticket))
    assert response.status_code == 200 and "Bob laptop" in response.content.decode()


def test_agent_sees_only_their_own_requests_in_the_portal(desk, new_ticket, login):
    queue_ticket = new_ticket(requester=desk.alice)
    own = services.create_ticket(actor=desk.l1_agent, subject="My monitor", channel="web")
    services.add_comment(
        actor=desk.l2_agent, ticket=own, body="HIDDEN note", channel="web", public=False
    )
    client = login(desk.l1_agent)
    assert client.get(url(queue_ticket)).status_code == 404
    html = client.get(url(own)).content.decode()
    assert "My monitor" in html and "HIDDEN" not in html
    home = client.get("/").content.decode()
    assert "My monitor" in home and "Printer on floor 3" not in home


def test_anonymous_visitors_are_sent_to_the_login_page(desk, new_ticket, client):
    ticket = new_ticket()
    for path in ["/", "/requests/new/", url(ticket), url(ticket, "attachments/1/")]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert client.post(url(ticket, "reply/"), {"body": "x"})["Location"].startswith("/login/")
