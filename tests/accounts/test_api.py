"""Organizations, users and groups through the API, and the published API description."""

import pytest
from django.test import Client

from firstline.accounts.models import Group, Organization, User
from firstline.accounts.services import create_api_token

from ..factories import AdminFactory

pytestmark = pytest.mark.django_db

RESOURCES = ["organizations", "users", "groups"]

VALID = {
    "organizations": {"slug": "initech", "name": "Initech"},
    "users": {"username": "dave", "email": "dave@initech.example", "organization": "acme"},
    "groups": {"slug": "network", "name": "Network team", "tier": 2, "members": ["l2agent"]},
}


def assert_error(response, status: int, *fields: str) -> dict:
    """A 4xx answer in the API's error format, naming `fields` in `errors`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("errors"), dict), body
    for field in fields:
        assert field in body["errors"], body
    return body


def counts() -> tuple[int, int, int]:
    return Organization.objects.count(), User.objects.count(), Group.objects.count()


@pytest.fixture
def admin(desk):
    return AdminFactory(username="root")


@pytest.fixture
def as_role(desk, admin, api):
    """`as_role("supervisor")`: an API client for a person of that role in the desk."""
    people = {
        "requester": desk.alice,
        "org_manager": desk.acme_manager,
        "agent": desk.l1_agent,
        "supervisor": desk.supervisor,
        "admin": admin,
    }
    return lambda role: api(people[role])


@pytest.fixture
def boss(as_role):
    return as_role("supervisor")


# --- Who may list and create ---------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ["requester", "org_manager"])
def test_requesters_cannot_list(as_role, role, resource):
    assert_error(as_role(role).get(resource), 403)


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ["requester", "org_manager", "agent"])
def test_requesters_and_agents_cannot_create(as_role, role, resource):
    before = counts()

    r = as_role(role).post(resource, VALID[resource])

    assert_error(r, 403)
    assert counts() == before


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_staff_can_list(as_role, role, resource):
    r = as_role(role).get(resource)

    assert r.status_code == 200, r.json()
    assert r.json()["count"] == len(r.json()["items"]) > 0


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_create(as_role, role, resource):
    r = as_role(role).post(resource, VALID[resource])

    assert r.status_code == 201, r.json()
    listed = as_role(role).get(resource, limit=100).json()["items"]
    key = "username" if resource == "users" else "slug"
    assert r.json()[key] in {item[key] for item in listed}


@pytest.mark.parametrize("resource", RESOURCES)
def test_unauthenticated_requests_get_401(desk, resource):
    r = Client().get(f"/api/v1/{resource}")

    assert r.status_code == 401
    assert r.json()["message"]


# --- Organizations -------------------------------------------------------------------------------


def test_created_organization_is_returned(boss):
    r = boss.post("organizations", {"slug": "initech", "name": " Initech "})

    assert r.json() == {"slug": "initech", "name": "Initech", "is_active": True}


def test_duplicate_organization_slug_is_409(boss):
    before = counts()

    assert_error(boss.post("organizations", {"slug": "acme", "name": "Acme 2"}), 409, "slug")
    assert counts() == before


@pytest.mark.parametrize("slug", ["not a slug", "acme!", "", "a/b", "x" * 51])
def test_bad_organization_slug_is_422(boss, slug):
    before = counts()

    assert_error(boss.post("organizations", {"slug": slug, "name": "Bad"}), 422, "slug")
    assert counts() == before


@pytest.mark.parametrize(
    "body, field", [({"slug": "x"}, "name"), ({"slug": "x", "name": " "}, "name")]
)
def test_organization_needs_a_name(boss, body, field):
    assert_error(boss.post("organizations", body), 422, field)


def test_unknown_field_in_organization_is_422(boss):
    assert_error(
        boss.post("organizations", {"slug": "x", "name": "X", "is_active": False}), 422, "is_active"
    )


# --- Users ---------------------------------------------------------------------------------------


def test_created_user_is_returned_without_secrets(boss):
    r = boss.post(
        "users",
        {
            "username": "dave",
            "email": "dave@acme.example",
            "first_name": "Dave",
            "role": "requester",
            "organization": "acme",
            "is_org_manager": True,
            "password": "a-long-Unusual-passphrase-42",
        },
    )

    assert r.status_code == 201, r.json()
    assert r.json() == {
        "username": "dave",
        "email": "dave@acme.example",
        "first_name": "Dave",
        "last_name": "",
        "role": "requester",
        "organization": "acme",
        "is_org_manager": True,
        "is_active": True,
    }
    assert User.objects.get(username="dave").check_password("a-long-Unusual-passphrase-42")


def test_supervisor_creates_an_agent(boss):
    r = boss.post("users", {"username": "eve", "role": "agent"})

    assert r.status_code == 201, r.json()
    assert User.objects.get(username="eve").is_agent


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisor_cannot_create_supervisors_or_admins(boss, role):
    before = counts()

    assert_error(boss.post("users", {"username": "mallory", "role": role}), 403)
    assert counts() == before


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_admin_creates_supervisors_and_admins(as_role, role):
    r = as_role("admin").post("users", {"username": "trent", "role": role})

    assert r.status_code == 201, r.json()
    assert r.json()["role"] == role


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "alice"}, "username"),
        ({"username": "ALICE"}, "username"),
        ({"username": " ALICE "}, "username"),
        ({"username": " alice"}, "username"),
        ({"username": "dave", "email": "alice@example.com"}, "email"),
        ({"username": "dave", "email": "Alice@Example.com"}, "email"),
    ],
    ids=[
        "username",
        "username-other-case",
        "username-other-case-padded",
        "username-padded",
        "email",
        "email-other-case",
    ],
)
def test_duplicate_user_is_409(boss, body, field):
    before = counts()

    assert_error(boss.post("users", body), 409, field)
    assert counts() == before


@pytest.mark.parametrize("email", ["not-an-email", "dave@", "@example.com", "dave example.com"])
def test_bad_email_is_422(boss, email):
    before = counts()

    assert_error(boss.post("users", {"username": "dave", "email": email}), 422, "email")
    assert counts() == before


@pytest.mark.parametrize("password", ["123", "password", "12345678901", "iloveyou"])
def test_weak_password_is_422(boss, password):
    before = counts()

    r = boss.post("users", {"username": "dave", "email": "dave@x.example", "password": password})

    body = assert_error(r, 422, "password")
    assert body["errors"]["password"]
    assert counts() == before


def test_unknown_organization_in_user_is_422(boss):
    before = counts()

    r = boss.post("users", {"username": "dave", "organization": "no-such-org"})

    assert_error(r, 422, "organization")
    assert counts() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "username"),
        ({"username": ""}, "username"),
        ({"username": "   "}, "username"),
        ({"username": "dave", "role": "superuser"}, "role"),
        ({"username": "dave", "is_staff": True}, "is_staff"),
        ({"username": "dave", "is_superuser": True}, "is_superuser"),
    ],
)
def test_bad_user_input_is_422_naming_the_field(boss, body, field):
    before = counts()

    assert_error(boss.post("users", body), 422, field)
    assert counts() == before


@pytest.mark.parametrize("username", ["dave smith", "dave/../root", "dave<script>"])
def test_username_with_characters_django_refuses_is_422(boss, username):
    before = counts()

    assert_error(boss.post("users", {"username": username}), 422, "username")
    assert counts() == before


def test_users_can_be_filtered_by_role_and_organization(as_role):
    agent = as_role("agent")

    requesters = agent.get("users", role="requester", organization="acme").json()["items"]

    assert {u["username"] for u in requesters} == {"alice", "bob", "acmeboss"}


def test_user_without_organization_is_listed_with_null(as_role):
    users = as_role("agent").get("users", limit=100).json()["items"]

    assert next(u for u in users if u["username"] == "boss")["organization"] is None


# --- Groups --------------------------------------------------------------------------------------


def test_created_group_is_returned_with_members_and_organizations(boss):
    r = boss.post(
        "groups",
        {
            "slug": "acme-onsite",
            "name": "Acme on-site",
            "tier": 2,
            "members": ["l1agent", "l2agent"],
            "organizations": ["acme"],
        },
    )

    assert r.status_code == 201, r.json()
    assert r.json()["tier"] == 2
    assert sorted(r.json()["members"]) == ["l1agent", "l2agent"]
    assert r.json()["organizations"] == ["acme"]


def test_duplicate_group_slug_is_409(boss):
    before = counts()

    assert_error(boss.post("groups", {"slug": "l1", "name": "Another L1"}), 409, "slug")
    assert counts() == before


@pytest.mark.parametrize("slug", ["not a slug", "l1!", ""])
def test_bad_group_slug_is_422(boss, slug):
    assert_error(boss.post("groups", {"slug": slug, "name": "Bad"}), 422, "slug")


@pytest.mark.parametrize("name", ["", "   "])
def test_group_needs_a_name(boss, name):
    before = counts()

    assert_error(boss.post("groups", {"slug": "helpers", "name": name}), 422, "name")
    assert counts() == before


@pytest.mark.parametrize("members", [["alice"], ["l1agent", "bob"], ["acmeboss"]])
def test_group_members_who_are_requesters_are_422(boss, members):
    before = counts()

    r = boss.post("groups", {"slug": "helpers", "name": "Helpers", "members": members})

    assert_error(r, 422, "members")
    assert counts() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"members": ["nobody"]}, "members"),
        ({"organizations": ["no-such-org"]}, "organizations"),
        ({"tier": 0}, "tier"),
        ({"tier": "two"}, "tier"),
    ],
)
def test_bad_group_input_is_422_naming_the_field(boss, body, field):
    before = counts()

    assert_error(boss.post("groups", {"slug": "helpers", "name": "Helpers", **body}), 422, field)
    assert counts() == before


# --- API description -----------------------------------------------------------------------------


def test_openapi_schema_lists_the_ticket_paths(desk):
    r = Client().get("/api/v1/openapi.json")

    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/comments",
        "/api/v1/tickets/{number}/attachments",
        "/api/v1/tickets/{number}/attachments/{attachment_id}",
        "/api/v1/tickets/{number}/history",
        "/api/v1/tickets/{number}/escalate",
        "/api/v1/tickets/{number}/deescalate",
        "/api/v1/tickets/{number}/merge",
        "/api/v1/tickets/{number}/links",
        "/api/v1/tickets/{number}/links/{other}",
        "/api/v1/organizations",
        "/api/v1/users",
        "/api/v1/groups",
    ]:
        assert path in paths
    assert {"get", "patch"} <= set(paths["/api/v1/tickets/{number}"])


def test_openapi_schema_declares_bearer_authentication(desk):
    schema = Client().get("/api/v1/openapi.json").json()

    schemes = schema["components"]["securitySchemes"].values()
    assert any(s.get("scheme") == "bearer" for s in schemes)


def test_api_docs_page_answers(desk):
    assert Client().get("/api/v1/docs").status_code == 200


def test_the_bearer_scheme_is_read_in_any_case_and_the_token_is_all_after_it(desk):
    _, secret = create_api_token(user=desk.alice, name="schemes")
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = Client(HTTP_AUTHORIZATION=f"{scheme} {secret}").get("/api/v1/tickets")
        assert answer.status_code == 200, scheme
    for given in (f"Bearer  {secret}", f"Bearer {secret} ", f"Token {secret}", secret):
        assert Client(HTTP_AUTHORIZATION=given).get("/api/v1/tickets").status_code == 401
