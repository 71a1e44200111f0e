import pytest

from ..factories import AdminFactory, CategoryFactory


@pytest.fixture
def admin(desk):
    return AdminFactory(username="root")


@pytest.fixture
def hardware(db):
    return CategoryFactory(name="Hardware")


@pytest.fixture
def as_supervisor(client, desk):
    client.force_login(desk.supervisor)
    return client


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


def errors_of(response) -> str:
    """The page's text, for asserting that an error message is visible."""
    return response.content.decode()
