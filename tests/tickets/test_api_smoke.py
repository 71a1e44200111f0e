import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.mark.django_db
def test_requester_and_agent_work_a_ticket_through_the_api(desk, api):
    alice = api(desk.alice)
    agent = api(desk.l1_agent)
    r = alice.post("tickets", {"subject": "VPN fails", "description": "Error 809"})
    assert r.status_code == 201, r.json()
    number = r.json()["number"]
    assert r.json()["group"] is None  # hidden from requesters
    r = agent.get(f"tickets/{number}")
    assert r.status_code == 200, r.json()
    assert r.json()["group"]["slug"] == "l1"
    r = agent.post(f"tickets/{number}/comments", {"body": "internal", "public": False})
    assert r.status_code == 201, r.json()
    r = agent.post(f"tickets/{number}/comments", {"body": "Try again"})
    assert r.status_code == 201
    assert [c["body"] for c in alice.get(f"tickets/{number}/comments").json()] == ["Try again"]
    r = agent.post(f"tickets/{number}/escalate", {"reason": "needs desktop team"})
    assert r.status_code == 200, r.json()
    assert r.json()["group"]["slug"] == "l2"
    up = alice.upload(f"tickets/{number}/attachments", SimpleUploadedFile("../x.txt", b"hi"))
    assert up.status_code == 201, up.json()
    dl = alice.get(f"tickets/{number}/attachments/{up.json()['id']}")
    assert dl.status_code == 200
    assert dl["Content-Disposition"].startswith("attachment")
    r = alice.get("tickets", status="new,open")
    assert r.status_code == 200, r.json()
    assert [t["number"] for t in r.json()["items"]] == [number]
    h = api(desk.supervisor).get(f"tickets/{number}/history").json()
    assert {e["kind"] for e in h} >= {"created", "note_added", "commented", "escalated"}
    assert "note_added" not in {e["kind"] for e in alice.get(f"tickets/{number}/history").json()}
    r = alice.patch(f"tickets/{number}", {"assignee": "l1agent"})
    assert r.status_code == 403, r.json()
    r = alice.post("tickets", {"subject": ""})
    assert r.status_code == 422, r.json()
    r = alice.post("tickets", {"subject": "x", "bogus": 1})
    assert r.status_code == 422, r.json()
    print(r.json())
