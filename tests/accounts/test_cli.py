import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from firstline.accounts.models import ApiToken, Organization, User
from firstline.accounts.services import authenticate_api_token

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_org_user_and_token_from_the_command_line():
    run("create_org", "acme", "--name", "Acme Ltd")
    run(
        "create_user",
        "li.wei",
        "--email",
        "li.wei@acme.example",
        "--role",
        "agent",
        "--org",
        "acme",
        "--password",
        "a-long-enough-secret",
    )
    user = User.objects.get(username="li.wei")
    assert (user.role, user.organization.slug) == ("agent", "acme")
    assert user.check_password("a-long-enough-secret")
    secret = run("create_token", "li.wei").strip()
    assert len(secret) >= 43
    assert authenticate_api_token(secret) == user
    stored = ApiToken.objects.get(user=user)
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.digest, stored.prefix)


def test_revoked_token_no_longer_authenticates():
    run("create_user", "bob")
    secret = run("create_token", "bob").strip()
    run("revoke_token", "--user", "bob")
    assert authenticate_api_token(secret) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create_org", "bad slug!", "--name", "X"), "letters, numbers"),
        (("create_user", "x", "--org", "nowhere"), "No organization"),
        (("create_user", "x", "--email", "not-an-address"), "not an e-mail"),
        (("create_user", "x", "--password", "123"), "too weak"),
        (("create_token", "ghost"), "No user"),
        (("revoke_token", "--prefix", "fl_nothing"), "No active token"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_duplicates_are_refused():
    run("create_org", "acme", "--name", "Acme")
    with pytest.raises(CommandError, match="already exists"):
        run("create_org", "acme", "--name", "Acme again")
    run("create_user", "amy", "--email", "amy@example.com")
    with pytest.raises(CommandError, match="already in use"):
        run("create_user", "amy2", "--email", "AMY@example.com")
    assert Organization.objects.count() == 1
