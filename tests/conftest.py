from contextlib import contextmanager

import pytest
from django.test import Client

from firstline.accounts.services import create_api_token
from firstline.core import revisions
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

from .factories import (
    AgentFactory,
    GroupFactory,
    OrganizationFactory,
    RequesterFactory,
    SupervisorFactory,
)


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


class ApiClient:
    """A JSON client for /api/v1/ that authenticates with a real bearer token."""

    def __init__(self, user):
        self.user = user
        _, secret = create_api_token(user=user, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def _url(self, path: str) -> str:
        return "/api/v1/" + path.lstrip("/")

    def get(self, path, **params):
        return self.client.get(self._url(path), params)

    def post(self, path, data=None, **extra):
        return self.client.post(
            self._url(path), data or {}, content_type="application/json", **extra
        )

    def patch(self, path, data=None, **extra):
        return self.client.patch(
            self._url(path), data or {}, content_type="application/json", **extra
        )

    def delete(self, path, **extra):
        return self.client.delete(self._url(path), **extra)

    def upload(self, path, file, **fields):
        return self.client.post(self._url(path), {"file": file, **fields})


@pytest.fixture
def api():
    return ApiClient


@pytest.fixture
def desk(db):
    """A small help desk: two client organizations, L1 and L2 groups, people in each role."""
    acme = OrganizationFactory(slug="acme", name="Acme")
    globex = OrganizationFactory(slug="globex", name="Globex")
    l1_agent = AgentFactory(username="l1agent")
    l2_agent = AgentFactory(username="l2agent")
    l1 = GroupFactory(slug="l1", name="Service Desk", tier=1, members=[l1_agent])
    l2 = GroupFactory(slug="l2", name="Desktop Support", tier=2, members=[l2_agent])
    l3 = GroupFactory(slug="l3", name="Infrastructure", tier=3)

    class Desk:
        pass

    d = Desk()
    d.acme, d.globex, d.l1, d.l2, d.l3 = acme, globex, l1, l2, l3
    d.l1_agent, d.l2_agent = l1_agent, l2_agent
    d.supervisor = SupervisorFactory(username="boss")
    d.alice = RequesterFactory(username="alice", organization=acme)
    d.bob = RequesterFactory(username="bob", organization=acme)
    d.carol = RequesterFactory(username="carol", organization=globex)
    d.acme_manager = RequesterFactory(username="acmeboss", organization=acme, is_org_manager=True)
    return d


@pytest.fixture
def new_ticket(desk):
    """Opens a ticket the way every channel does: through the service."""

    def make(requester=None, channel=Channel.WEB, **fields):
        requester = requester or desk.alice
        fields.setdefault("subject", "Printer on floor 3 jams")
        return ticket_services.create_ticket(actor=requester, channel=channel, **fields)

    return make


@pytest.fixture
def elsewhere(monkeypatch):
    """Changes made in the block are made as by another process: this process keeps what it
    derived before, and only the revision in the database tells it that something changed."""

    @contextmanager
    def block():
        with monkeypatch.context() as patch:
            patch.setattr(revisions, "forget", lambda name: None)
            yield

    return block
