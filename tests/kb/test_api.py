import pytest

from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

NEW = {"title": "Set up e-mail on your phone", "body": "1. Open **Settings**."}


def test_an_agent_creates_a_draft_and_a_supervisor_publishes_it(api, desk):
    agent, boss = api(desk.l1_agent), api(desk.supervisor)
    category = CategoryFactory(name="E-mail")
    response = agent.post(
        "kb/articles", {**NEW, "category": category.pk, "tags": ["Phone", "mail"]}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["visibility"] == "internal"
    assert body["tags"] == ["mail", "phone"] and body["category"]["name"] == "E-mail"
    assert "<strong>Settings</strong>" in body["body_html"]
    url = f"kb/articles/{body['id']}"
    assert agent.patch(url, {"status": "published"}).status_code == 403
    response = boss.patch(url, {"status": "published", "visibility": "public", "version": 1})
    assert response.status_code == 200
    assert response.json()["status"] == "published" and response.json()["version"] == 2
    assert api(desk.carol).get(url).status_code == 200


def test_requesters_cannot_write(api, desk, article):
    carol = api(desk.carol)
    response = carol.post("kb/articles", NEW)
    assert response.status_code == 403 and response.json()["message"]
    item = article()
    assert carol.patch(f"kb/articles/{item.pk}", {"title": "Mine"}).status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x", "body": "   "}, "body"),
        ({**NEW, "language": "fr"}, "language"),
        ({**NEW, "visibility": "secret"}, "visibility"),
        ({**NEW, "category": 999999}, "category"),
        ({**NEW, "organizations": ["nope"]}, "organizations"),
        ({**NEW, "visibility": "organizations"}, "organizations"),
        ({**NEW, "colour": "red"}, "colour"),
        ({"body": "no title"}, "title"),
        ({**NEW, "tags": ["x" * 60]}, "tags"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, desk, payload, field):
    response = api(desk.l1_agent).post("kb/articles", payload)
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"]


def test_patch_errors(api, desk, article):
    item = article()
    agent = api(desk.l1_agent)
    url = f"kb/articles/{item.pk}"
    assert agent.patch(url, {"title": "New", "version": 99}).status_code == 409
    assert agent.patch(url, {"title": "  "}).status_code == 422
    assert agent.patch(url, {"unknown": 1}).status_code == 422
    assert agent.patch("kb/articles/999999", {"title": "x"}).status_code == 404
    assert agent.get("kb/articles", limit=0).status_code == 422
    assert agent.get("kb/articles", language="fr").status_code == 422


def test_list_filters_and_pagination(api, desk, article):
    for n in range(3):
        article(title=f"English {n}")
    article(title="中文文章", language="zh-hans")
    agent = api(desk.l1_agent)
    body = agent.get("kb/articles", language="zh-hans").json()
    assert [a["title"] for a in body["items"]] == ["中文文章"] and body["count"] == 1
    body = agent.get("kb/articles", limit=2).json()
    assert len(body["items"]) == 2 and body["count"] == 4
    body = agent.get("kb/articles", q="中文").json()
    assert [a["title"] for a in body["items"]] == ["中文文章"]


def test_q_searches_with_the_search_service_best_first(api, desk, article):
    article(title="Printer setup", body="Add the network printer; the printer is on floor 3.")
    article(title="Wi-Fi", body="If the printer is offline, check the Wi-Fi.")
    article(title="Printer jams", body="Open the printer door.", visibility="internal")
    titles = [a["title"] for a in api(desk.carol).get("kb/articles", q="printers").json()["items"]]
    assert titles[0] == "Printer setup" and set(titles) == {"Printer setup", "Wi-Fi"}
    response = api(desk.carol).get("kb/articles", q="!!!")
    assert response.status_code == 422 and "q" in response.json()["errors"]


def test_anonymous_calls_are_refused(client, desk):
    assert client.get("/api/v1/kb/articles").status_code == 401
