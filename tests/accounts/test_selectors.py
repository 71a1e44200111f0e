import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.accounts.models import OrganizationDomain, User
from firstline.accounts.selectors import (
    organization_for_email,
    organizations_for_domains,
    users_with_addresses,
)

from ..factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_a_batch_of_domains_finds_their_active_organizations_in_one_query():
    acme = OrganizationFactory(slug="acme")
    closed = OrganizationFactory(slug="closed", is_active=False)
    OrganizationDomain.objects.create(organization=acme, domain="acme.test")
    OrganizationDomain.objects.create(organization=closed, domain="closed.test")
    with CaptureQueriesContext(connection) as queries:
        found = organizations_for_domains(["ACME.test ", "closed.test", "nobody.test"])
    assert len(queries) == 1
    assert found == {"ACME.test ": acme, "closed.test": None, "nobody.test": None}
    assert organizations_for_domains([]) == {}
    assert organization_for_email("Li.Wang@Acme.Test") == acme
    assert organization_for_email("someone@closed.test") is None


def test_users_are_found_by_address_in_any_case():
    mia = User.objects.create_user(username="mia", email="Mia.Mixed@Example.COM")
    User.objects.create_user(username="other", email="other@example.com")
    assert list(users_with_addresses(["mia.mixed@example.com", "MIA.MIXED@EXAMPLE.COM"])) == [mia]
    assert list(users_with_addresses(["mia%@example.com", "nobody@example.com"])) == []
    assert list(users_with_addresses([])) == []
