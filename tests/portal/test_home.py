import pytest

from firstline.tickets.models import Status

from ..factories import RequesterFactory

pytestmark = pytest.mark.django_db


def test_home_lists_my_requests_newest_first(desk, new_ticket, login):
    new_ticket(subject="Older one")
    new_ticket(subject="Newer one")
    new_ticket(requester=desk.bob, subject="Bob's request")
    response = login(desk.alice).get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Newer one") < html.index("Older one")
    assert "Bob" not in html.split('id="list-heading"')[1]
    assert "Submit a request" in html and "Knowledge base" in html
    assert 'class="badge status-new"' in html


def test_empty_list_invites_a_first_request(desk, login):
    html = login(desk.alice).get("/").content.decode()
    assert "You have not sent any requests yet." in html


def test_org_manager_switches_to_the_organizations_requests(desk, new_ticket, login):
    new_ticket(requester=desk.bob, subject="Bob laptop")
    new_ticket(requester=desk.carol, subject="Globex printer")
    client = login(desk.acme_manager)
    mine = client.get("/").content.decode()
    assert "Bob laptop" not in mine
    assert "My organization's requests" in mine
    org = client.get("/?scope=organization").content.decode()
    assert "Bob laptop" in org and "Globex printer" not in org
    assert '<a href="/?scope=organization" aria-current="page">' in org


def test_a_normal_requester_gets_no_organization_view(desk, new_ticket, login):
    new_ticket(requester=desk.bob, subject="Bob laptop")
    html = login(desk.alice).get("/?scope=organization").content.decode()
    assert "Bob laptop" not in html
    assert 'href="/?scope=organization"' not in html


def test_state_filter(desk, new_ticket, login):
    from firstline.tickets import services

    done = new_ticket(subject="Done already")
    services.update_ticket(actor=desk.alice, ticket=done, channel="web", status=Status.RESOLVED)
    new_ticket(subject="Still waiting")
    client = login(desk.alice)
    open_html = client.get("/?state=open").content.decode()
    assert "Still waiting" in open_html and "Done already" not in open_html
    solved_html = client.get("/?state=solved").content.decode()
    assert "Done already" in solved_html and "Still waiting" not in solved_html


def test_pagination(desk, new_ticket, login):
    for n in range(25):
        new_ticket(subject=f"Request number {n:02d}")
    client = login(desk.alice)
    first = client.get("/").content.decode()
    assert "Request number 24" in first and "Request number 04" not in first
    assert "Page 1 of 2" in first
    second = client.get("/?page=2").content.decode()
    assert "Request number 04" in second and "Request number 24" not in second


@pytest.mark.parametrize("count", [3, 30])
def test_home_runs_a_bounded_number_of_queries(
    desk, new_ticket, login, count, django_assert_max_num_queries
):
    colleague = RequesterFactory(organization=desk.acme)
    for n in range(count):
        new_ticket(requester=desk.acme_manager if n % 2 else colleague, subject=f"T{n}")
    client = login(desk.acme_manager)
    for path in ["/", "/?scope=organization"]:
        with django_assert_max_num_queries(7):  # session, user, count, org, page, tags
            assert client.get(path).status_code == 200
