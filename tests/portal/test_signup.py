import pytest

from firstline.accounts.models import Role, User
from firstline.accounts.services import add_organization_domain

pytestmark = pytest.mark.django_db

URL = "/signup/"


def form(**changes):
    data = {
        "name": "Dana Scully",
        "email": "dana@acme.example",
        "username": "dana",
        "password1": "Truth-is-out-there-1993",
        "password2": "Truth-is-out-there-1993",
    }
    return data | changes


def test_signup_is_closed_without_the_setting_or_a_domain(desk, client, settings):
    settings.ALLOW_SIGNUP = False
    page = client.get(URL).content.decode()
    assert "ask your IT team for an account" in page and 'name="password1"' not in page
    assert "Create an account" not in client.get("/login/").content.decode()
    client.post(URL, form())
    assert not User.objects.filter(username="dana").exists()


def test_signup_refuses_an_address_outside_the_organizations_domains(desk, client, settings):
    settings.ALLOW_SIGNUP = False
    add_organization_domain(actor=None, organization=desk.acme, domain="acme.example")
    assert "Create an account" in client.get("/login/").content.decode()
    assert "work e-mail address" in client.get(URL).content.decode()
    response = client.post(URL, form(email="dana@gmail.example"))
    assert response.status_code == 200
    assert "only open to e-mail addresses" in response.content.decode()
    assert 'value="Dana Scully"' in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_signup_by_domain_joins_the_organization_and_logs_in(desk, client, settings):
    settings.ALLOW_SIGNUP = False
    add_organization_domain(actor=None, organization=desk.acme, domain="acme.example")
    response = client.post(URL, form(email="Dana@ACME.example"))
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="dana")
    assert (user.organization, user.role, user.is_org_manager) == (desk.acme, Role.REQUESTER, False)
    assert user.display_name == "Dana Scully"
    assert user.check_password("Truth-is-out-there-1993")
    assert client.get("/").context["user"] == user


def test_open_signup_creates_a_requester_without_organization(db, client, settings):
    settings.ALLOW_SIGNUP = True
    assert "Create an account" in client.get("/login/").content.decode()
    response = client.post(URL, form(email="dana@anywhere.example"))
    assert response.status_code == 302
    user = User.objects.get(username="dana")
    assert user.organization is None and user.role == Role.REQUESTER


def test_weak_or_mismatched_passwords_and_taken_names_are_refused(desk, client, settings):
    settings.ALLOW_SIGNUP = True
    html = client.post(URL, form(password1="123", password2="123")).content.decode()
    assert "too short" in html
    html = client.post(URL, form(password2="something-else-42")).content.decode()
    assert "The two passwords are different." in html
    html = client.post(URL, form(username="alice")).content.decode()
    assert "is taken" in html
    html = client.post(URL, form(username="has space")).content.decode()
    assert "Enter a valid username" in html
    assert User.objects.filter(username__in=["dana", "has space"]).count() == 0


def test_logged_in_users_are_sent_to_the_portal(desk, client):
    client.force_login(desk.alice)
    assert client.get(URL)["Location"] == "/"
