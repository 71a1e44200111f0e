import pytest

from firstline.channels.models import InboundMessage, Mailbox

from ..factories import AdminFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

RAW = b"From: a@acme.example\r\nSubject: hi\r\nMessage-ID: <m1@acme.example>\r\n\r\nhello\r\n"


def test_admin_configures_a_mailbox_through_the_api(api, desk):
    admin = api(AdminFactory())
    created = admin.post(
        "channels/email/mailboxes",
        {
            "address": "Help@Desk.example",
            "group": "l1",
            "imap_enabled": True,
            "imap_host": "imap.desk.example",
            "imap_username": "help",
            "imap_password": "s3cret",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["inbound_token"].startswith("flm_")
    assert body["mailbox"]["address"] == "help@desk.example"
    assert body["mailbox"]["imap_password_set"] is True
    assert "s3cret" not in created.content.decode()
    mailbox_id = body["mailbox"]["id"]
    changed = admin.patch(f"channels/email/mailboxes/{mailbox_id}", {"poll_interval": 120})
    assert changed.status_code == 200, changed.json()
    assert Mailbox.objects.get().poll_interval == 120
    assert [m["address"] for m in admin.get("channels/email/mailboxes").json()] == [
        "help@desk.example"
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"address": "not-an-address"}, "address"),
        ({"address": "x@y.example", "group": "nope"}, "group"),
        ({"address": "x@y.example", "poll_interval": 1}, "poll_interval"),
        ({"address": "x@y.example", "imap_enabled": True}, "imap_host"),
        ({"address": "x@y.example", "imap_security": "rot13"}, "imap_security"),
    ],
)
def test_bad_mailbox_settings_are_422_naming_the_field(api, desk, payload, field):
    response = api(AdminFactory()).post("channels/email/mailboxes", payload)
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"]
    assert not Mailbox.objects.exists()


def test_only_admins_configure_mailboxes(api, desk):
    for user in (SupervisorFactory(), desk.l1_agent, desk.alice):
        client = api(user)
        assert client.get("channels/email/mailboxes").status_code == 403
        assert (
            client.post("channels/email/mailboxes", {"address": "a@b.example"}).status_code == 403
        )
    assert not Mailbox.objects.exists()


def test_rotating_the_token_retires_the_old_one(api, desk, client):
    admin = api(AdminFactory())
    created = admin.post("channels/email/mailboxes", {"address": "help@desk.example"}).json()
    old = created["inbound_token"]
    new = admin.post(f"channels/email/mailboxes/{created['mailbox']['id']}/token").json()
    assert new["inbound_token"] != old

    def push(token):
        return client.post(
            "/api/v1/channels/email/inbound",
            RAW,
            content_type="message/rfc822",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    assert push(old).status_code == 401
    assert push(new["inbound_token"]).status_code == 202


def test_admin_reprocesses_a_quarantined_message(api, desk, django_capture_on_commit_callbacks):
    admin = api(AdminFactory())
    created = admin.post("channels/email/mailboxes", {"address": "help@desk.example"}).json()
    message = InboundMessage.objects.create(
        mailbox_id=created["mailbox"]["id"],
        source="http",
        raw=RAW,
        sha256="x",
        size=len(RAW),
        status="quarantined",
        error="boom",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"channels/email/messages/{message.pk}/reprocess")
    assert response.status_code == 200, response.json()
    message.refresh_from_db()
    assert (message.status, message.result) == ("processed", "created")
    again = admin.post(f"channels/email/messages/{message.pk}/reprocess")
    assert again.status_code == 409
