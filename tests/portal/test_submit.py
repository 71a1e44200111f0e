import pytest

from firstline.tickets.models import Attachment, Priority, Ticket

from ..factories import CategoryFactory

pytestmark = pytest.mark.django_db

URL = "/requests/new/"


def test_submit_a_request_with_attachments_and_see_it_listed(desk, login, upload):
    client = login(desk.alice)
    category = CategoryFactory(name="Printers")
    response = client.post(
        URL,
        {
            "subject": "Printer jams",
            "description": "Every second page.",
            "category": category.pk,
            "priority": "high",
            "attachments": [upload("jam.png"), upload("log.txt", b"err", "text/plain")],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{ticket.pk}/"
    assert (ticket.requester, ticket.channel, ticket.category) == (desk.alice, "web", category)
    assert ticket.priority == Priority.HIGH
    files = list(ticket.attachments.all())
    assert sorted(a.filename for a in files) == ["jam.png", "log.txt"]
    assert all(a.is_public and a.comment_id is None for a in files)

    page = client.get(response["Location"])
    assert "was sent" in page.content.decode()
    assert "jam.png" in page.content.decode()
    home = client.get("/").content.decode()
    assert "Printer jams" in home and f"/requests/{ticket.pk}/" in home


def test_form_offers_active_categories_and_priorities(desk, login):
    CategoryFactory(name="Network")
    CategoryFactory(name="Retired", is_active=False)
    html = login(desk.alice).get(URL).content.decode()
    assert "Network" in html and "Retired" not in html
    assert 'value="urgent"' in html
    assert "multiple" in html and 'enctype="multipart/form-data"' in html


def test_without_categories_the_field_is_left_out(desk, login):
    html = login(desk.alice).get(URL).content.decode()
    assert 'name="category"' not in html


def test_empty_subject_shows_errors_and_keeps_the_text(desk, login):
    response = login(desk.alice).post(
        URL, {"subject": "  ", "description": "My text that must survive", "priority": "low"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    assert 'class="error-summary"' in html and 'aria-invalid="true"' in html
    assert "My text that must survive" in html
    assert '<option value="low" selected>' in html


def test_too_long_subject_is_refused(desk, login):
    response = login(desk.alice).post(
        URL, {"subject": "x" * 256, "description": "Kept", "priority": "normal"}
    )
    assert not Ticket.objects.exists()
    assert "at most 255 characters" in response.content.decode()


def test_oversize_file_is_refused_and_nothing_is_created(desk, login, upload, settings):
    settings.MAX_ATTACHMENT_SIZE = 10
    response = login(desk.alice).post(
        URL,
        {
            "subject": "Big file",
            "description": "Kept",
            "priority": "normal",
            "attachments": [upload("huge.bin", b"x" * 11, "application/octet-stream")],
        },
    )
    html = response.content.decode()
    assert not Ticket.objects.exists() and not Attachment.objects.exists()
    assert "huge.bin" in html and "larger than the limit" in html
    assert "choose them again" in html
    assert 'value="Big file"' in html


def test_unknown_priority_is_refused(desk, login):
    response = login(desk.alice).post(
        URL, {"subject": "S", "description": "D", "priority": "critical"}
    )
    assert response.status_code == 200
    assert not Ticket.objects.exists()


def test_service_refusal_is_shown_on_the_form(desk, login, monkeypatch):
    from firstline.core.errors import InvalidInput, PayloadTooLarge
    from firstline.tickets import services

    def refuse(**kwargs):
        raise InvalidInput.for_field("subject", "Subject refused by the service.")

    monkeypatch.setattr(services, "open_ticket_with_files", refuse)
    response = login(desk.alice).post(
        URL, {"subject": "S", "description": "Kept text", "priority": "normal"}
    )
    html = response.content.decode()
    assert "Subject refused by the service." in html and "Kept text" in html

    def too_large(**kwargs):
        raise PayloadTooLarge("No room.")

    monkeypatch.setattr(services, "open_ticket_with_files", too_large)
    data = {"subject": "S", "description": "D", "priority": "normal"}
    html = login(desk.alice).post(URL, data).content.decode()
    assert "No room." in html


def test_empty_file_is_refused(desk, login, upload):
    response = login(desk.alice).post(
        URL,
        {
            "subject": "S",
            "description": "D",
            "priority": "normal",
            "attachments": [upload("empty.txt", b"", "text/plain")],
        },
    )
    assert "The submitted file is empty." in response.content.decode()
    assert not Ticket.objects.exists()
