"""Who may see what through the API: organizations, colleagues, support groups, internal notes.

Organization B's tickets must not exist for a requester of organization A: every endpoint answers
exactly as it does for a ticket number that was never used, and nothing is written.
"""

from dataclasses import dataclass, replace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from firstline.tickets import services
from firstline.tickets.models import Attachment, Channel, Comment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

MISSING_TICKET = 987_654
MISSING_ATTACHMENT = 876_543


def a_file(name="notes.txt", content=b"some bytes"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def numbers(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {t["number"] for t in response.json()["items"]}


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"]
    return body


# --- Organization B's ticket, tried by a requester of organization A -----------------------------


@dataclass(frozen=True)
class Ids:
    mine: int  # alice's own ticket (acme)
    theirs: int  # carol's ticket (globex)
    their_file: int  # an attachment on carol's ticket


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: dict | None = None

    def send(self, client, ids: Ids):
        path = self.path.format(**vars(ids))
        # In bodies, the values "mine" and "theirs" stand for those ticket numbers.
        body = {
            k: getattr(ids, v) if v in ("mine", "theirs") else v
            for k, v in (self.body or {}).items()
        }
        if self.method == "upload":
            return client.upload(path, a_file())
        if self.method in ("get", "delete"):
            return getattr(client, self.method)(path)
        return getattr(client, self.method)(path, body)


CASES = {
    "GET ticket": Case("get", "tickets/{theirs}"),
    "PATCH ticket": Case("patch", "tickets/{theirs}", {"status": "resolved"}),
    "GET comments": Case("get", "tickets/{theirs}/comments"),
    "POST comment": Case("post", "tickets/{theirs}/comments", {"body": "Any news?"}),
    "GET attachments": Case("get", "tickets/{theirs}/attachments"),
    "POST attachment": Case("upload", "tickets/{theirs}/attachments"),
    "GET their attachment": Case("get", "tickets/{theirs}/attachments/{their_file}"),
    "GET their attachment via own ticket": Case("get", "tickets/{mine}/attachments/{their_file}"),
    "GET history": Case("get", "tickets/{theirs}/history"),
    "POST escalate": Case("post", "tickets/{theirs}/escalate", {"reason": "Urgent!"}),
    "POST deescalate": Case("post", "tickets/{theirs}/deescalate", {"reason": "Easy one"}),
    "POST merge theirs into mine": Case("post", "tickets/{theirs}/merge", {"into": "mine"}),
    "POST merge mine into theirs": Case("post", "tickets/{mine}/merge", {"into": "theirs"}),
    "POST link theirs to mine": Case("post", "tickets/{theirs}/links", {"number": "mine"}),
    "POST link mine to theirs": Case("post", "tickets/{mine}/links", {"number": "theirs"}),
    "DELETE link theirs-mine": Case("delete", "tickets/{theirs}/links/{mine}"),
    "DELETE link mine-theirs": Case("delete", "tickets/{mine}/links/{theirs}"),
}


@pytest.fixture
def two_orgs(desk, api, new_ticket):
    """alice (acme) has a ticket; carol (globex) has one with a reply and an attachment."""
    mine = new_ticket(requester=desk.alice, subject="Acme printer jams")
    theirs = new_ticket(requester=desk.carol, subject="Globex payroll export fails")
    services.add_comment(
        actor=desk.carol, ticket=theirs, body="Payroll is due Friday", channel=Channel.WEB
    )
    upload = api(desk.carol).upload(f"tickets/{theirs.pk}/attachments", a_file("payroll.csv"))
    assert upload.status_code == 201, upload.json()
    return Ids(mine=mine.pk, theirs=theirs.pk, their_file=upload.json()["id"])


def state(ids: Ids) -> dict:
    """Everything an isolation breach could change."""
    tickets = Ticket.objects.filter(pk__in=[ids.mine, ids.theirs]).order_by("pk")
    return {
        "comments": Comment.objects.count(),
        "attachments": Attachment.objects.count(),
        "events": TicketEvent.objects.count(),
        "tickets": list(
            tickets.values_list("pk", "version", "status", "merged_into", "group", "assignee")
        ),
        "links": sorted(Ticket.links.through.objects.values_list("from_ticket", "to_ticket")),
        "their_file_ticket": Attachment.objects.get(pk=ids.their_file).ticket_id,
    }


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_requester_gets_404_json_for_another_organizations_ticket(desk, api, two_orgs, case):
    response = case.send(api(desk.alice), two_orgs)

    assert_json_error(response, 404)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_trying_another_organizations_ticket_changes_nothing(desk, api, two_orgs, case):
    before = state(two_orgs)

    case.send(api(desk.alice), two_orgs)

    assert state(two_orgs) == before


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_another_organizations_ticket_answers_like_a_number_never_used(desk, api, two_orgs, case):
    alice = api(desk.alice)
    missing = replace(two_orgs, theirs=MISSING_TICKET, their_file=MISSING_ATTACHMENT)

    real = case.send(alice, two_orgs)
    fake = case.send(alice, missing)

    def anonymized(response, ids):
        text = response.content.decode()
        for value in (ids.theirs, ids.their_file):
            text = text.replace(str(value), "<id>")
        return text

    assert real.status_code == fake.status_code
    assert real["Content-Type"] == fake["Content-Type"]
    assert anonymized(real, two_orgs) == anonymized(fake, missing)


def test_requester_cannot_attach_another_organizations_upload_to_own_reply(desk, api, two_orgs):
    alice = api(desk.alice)
    before = state(two_orgs)

    r = alice.post(
        f"tickets/{two_orgs.mine}/comments",
        {"body": "See file", "attachments": [two_orgs.their_file]},
    )

    assert_json_error(r, 422)
    assert "attachments" in r.json()["errors"]
    assert state(two_orgs) == before


def test_requester_list_never_shows_another_organizations_tickets(desk, api, two_orgs):
    assert numbers(api(desk.alice).get("tickets")) == {two_orgs.mine}


@pytest.mark.parametrize(
    "params",
    [
        {"organization": "globex"},
        {"requester": "carol"},
        {"q": "payroll"},
        {"q": "#{theirs}"},
        {"status": "new,open,pending,on_hold,resolved,closed"},
    ],
    ids=["organization", "requester", "q-text", "q-number", "every-status"],
)
@pytest.mark.parametrize("who", ["alice", "acme_manager"])
def test_list_filters_cannot_reach_another_organization(desk, api, two_orgs, who, params):
    params = {k: v.format(theirs=two_orgs.theirs) for k, v in params.items()}

    r = api(getattr(desk, who)).get("tickets", **params)

    if r.status_code == 422:
        assert set(r.json()["errors"]) == set(params)
    else:
        assert r.status_code == 200, r.json()
        assert two_orgs.theirs not in numbers(r)


# --- Colleagues and organization managers --------------------------------------------------------


@pytest.fixture
def acme_and_globex(desk, new_ticket):
    return {
        "alice": new_ticket(requester=desk.alice, subject="Alice's monitor flickers").pk,
        "bob": new_ticket(requester=desk.bob, subject="Bob's password expired").pk,
        "carol": new_ticket(requester=desk.carol, subject="Carol's VPN").pk,
    }


def test_requester_cannot_see_a_colleagues_ticket(desk, api, acme_and_globex):
    alice = api(desk.alice)

    assert_json_error(alice.get(f"tickets/{acme_and_globex['bob']}"), 404)
    assert acme_and_globex["bob"] not in numbers(alice.get("tickets"))


def test_requester_cannot_read_a_colleagues_conversation(desk, api, acme_and_globex):
    alice = api(desk.alice)

    assert_json_error(alice.get(f"tickets/{acme_and_globex['bob']}/comments"), 404)
    assert_json_error(alice.get(f"tickets/{acme_and_globex['bob']}/history"), 404)


def test_org_manager_sees_colleagues_tickets(desk, api, acme_and_globex):
    manager = api(desk.acme_manager)

    r = manager.get(f"tickets/{acme_and_globex['bob']}")

    assert r.status_code == 200, r.json()
    assert r.json()["requester"]["username"] == "bob"
    assert numbers(manager.get("tickets")) == {acme_and_globex["alice"], acme_and_globex["bob"]}


def test_org_manager_cannot_see_another_organizations_ticket(desk, api, acme_and_globex):
    manager = api(desk.acme_manager)

    assert_json_error(manager.get(f"tickets/{acme_and_globex['carol']}"), 404)
    assert_json_error(manager.get(f"tickets/{acme_and_globex['carol']}/comments"), 404)


# --- Agents and support groups -------------------------------------------------------------------


@pytest.fixture
def queues(desk):
    """alice's tickets in the L1 queue and in the L2 queue, where l1agent is not a member."""
    l1 = services.create_ticket(
        actor=desk.supervisor, requester=desk.alice, subject="Password reset", channel=Channel.WEB
    )
    l2 = services.create_ticket(
        actor=desk.supervisor,
        requester=desk.alice,
        subject="Docking station dead",
        group=desk.l2,
        channel=Channel.WEB,
    )
    return {"l1": l1.pk, "l2": l2.pk}


def test_agent_cannot_see_a_ticket_in_another_groups_queue(desk, api, queues):
    agent = api(desk.l1_agent)

    assert_json_error(agent.get(f"tickets/{queues['l2']}"), 404)
    assert numbers(agent.get("tickets")) == {queues["l1"]}


def test_agent_sees_a_ticket_of_another_group_assigned_to_them(desk, api):
    desk.l2.members.add(desk.l1_agent)
    ticket = services.create_ticket(
        actor=desk.supervisor,
        requester=desk.alice,
        subject="Docking station dead",
        group=desk.l2,
        assignee=desk.l1_agent,
        channel=Channel.WEB,
    )
    desk.l2.members.remove(desk.l1_agent)  # moved teams; the ticket stays theirs

    agent = api(desk.l1_agent)

    assert agent.get(f"tickets/{ticket.pk}").status_code == 200
    assert ticket.pk in numbers(agent.get("tickets"))


def test_supervisor_sees_every_ticket(desk, api, queues, acme_and_globex):
    boss = api(desk.supervisor)
    everything = set(queues.values()) | set(acme_and_globex.values())

    assert numbers(boss.get("tickets")) == everything
    for number in everything:
        assert boss.get(f"tickets/{number}").status_code == 200


# --- Internal notes, routing and internal uploads never reach the requester ----------------------


@pytest.fixture
def worked_ticket(desk, api):
    """alice's ticket after agents worked on it with internal notes, routing and uploads."""
    alice, agent, boss = api(desk.alice), api(desk.l1_agent), api(desk.supervisor)
    number = alice.post("tickets", {"subject": "Outlook crashes"}).json()["number"]
    assert agent.post(f"tickets/{number}/comments", {"body": "We will look"}).status_code == 201
    internal = agent.upload(
        f"tickets/{number}/attachments", a_file("crashdump.txt"), public="false"
    )
    assert internal.status_code == 201, internal.json()
    note = agent.post(
        f"tickets/{number}/comments",
        {
            "body": "SECRET-NOTE user is VIP",
            "public": False,
            "attachments": [internal.json()["id"]],
        },
    )
    assert note.status_code == 201, note.json()
    r = agent.patch(f"tickets/{number}", {"tags": ["vip"], "assignee": "l1agent"})
    assert r.status_code == 200, r.json()
    r = agent.post(f"tickets/{number}/escalate", {"reason": "SECRET-REASON needs l2"})
    assert r.status_code == 200, r.json()
    other = boss.post("tickets", {"subject": "Related", "requester": "alice"}).json()["number"]
    assert boss.post(f"tickets/{number}/links", {"number": other}).status_code == 200
    return {"number": number, "internal_file": internal.json()["id"]}


def test_internal_note_is_not_in_requesters_comments(desk, api, worked_ticket):
    r = api(desk.alice).get(f"tickets/{worked_ticket['number']}/comments")

    assert r.status_code == 200, r.json()
    assert [c["body"] for c in r.json()] == ["We will look"]
    assert "SECRET-NOTE" not in r.content.decode()


def test_agent_sees_the_internal_note(desk, api, worked_ticket):
    r = api(desk.supervisor).get(f"tickets/{worked_ticket['number']}/comments")

    assert [(c["body"], c["public"]) for c in r.json()] == [
        ("We will look", True),
        ("SECRET-NOTE user is VIP", False),
    ]


def test_requester_history_hides_notes_routing_and_escalation_reasons(desk, api, worked_ticket):
    r = api(desk.alice).get(f"tickets/{worked_ticket['number']}/history")

    assert r.status_code == 200, r.json()
    events = r.json()
    assert events, "the requester still sees the public history"
    assert not {e["kind"] for e in events} & {
        "note_added",
        "escalated",
        "deescalated",
        "linked",
        "unlinked",
    }
    assert not {e["field"] for e in events} & {"group", "assignee", "tags"}
    text = r.content.decode()
    for secret in ("SECRET-REASON", "crashdump", "vip", "l2"):
        assert secret not in text


def test_agent_history_records_what_the_requester_does_not_see(desk, api, worked_ticket):
    events = api(desk.supervisor).get(f"tickets/{worked_ticket['number']}/history").json()

    kinds = {e["kind"] for e in events}
    assert {"note_added", "escalated", "linked"} <= kinds
    assert any(e["note"] == "SECRET-REASON needs l2" for e in events)


def test_internal_upload_is_not_listed_for_the_requester(desk, api, worked_ticket):
    r = api(desk.alice).get(f"tickets/{worked_ticket['number']}/attachments")

    assert r.status_code == 200, r.json()
    assert worked_ticket["internal_file"] not in {a["id"] for a in r.json()}


def test_internal_upload_cannot_be_downloaded_by_the_requester(desk, api, worked_ticket):
    number, file_id = worked_ticket["number"], worked_ticket["internal_file"]

    r = api(desk.alice).get(f"tickets/{number}/attachments/{file_id}")

    assert_json_error(r, 404)
    never = api(desk.alice).get(f"tickets/{number}/attachments/{MISSING_ATTACHMENT}")
    assert r.json() == never.json()


def test_agent_can_download_the_internal_upload(desk, api, worked_ticket):
    number, file_id = worked_ticket["number"], worked_ticket["internal_file"]

    r = api(desk.supervisor).get(f"tickets/{number}/attachments/{file_id}")

    assert r.status_code == 200
    assert b"".join(r.streaming_content) == b"some bytes"


def test_requester_ticket_json_hides_group_tags_and_links(desk, api, worked_ticket):
    alice = api(desk.alice)

    detail = alice.get(f"tickets/{worked_ticket['number']}").json()
    listed = next(
        t for t in alice.get("tickets").json()["items"] if t["number"] == detail["number"]
    )

    assert (detail["group"], detail["tags"], detail["links"]) == (None, [], [])
    assert (listed["group"], listed["tags"]) == (None, [])


def test_agent_ticket_json_shows_group_tags_and_links(desk, api, worked_ticket):
    detail = api(desk.supervisor).get(f"tickets/{worked_ticket['number']}").json()

    assert detail["group"]["slug"] == "l2"
    assert detail["tags"] == ["vip"]
    assert len(detail["links"]) == 1


def test_requester_patch_response_hides_routing(desk, api, worked_ticket):
    r = api(desk.alice).patch(f"tickets/{worked_ticket['number']}", {"status": "resolved"})

    assert r.status_code == 200, r.json()
    assert (r.json()["group"], r.json()["tags"], r.json()["links"]) == (None, [], [])
