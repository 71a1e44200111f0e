"""List pages run a fixed number of queries, however many rows they show."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ..factories import AgentFactory, GroupFactory, OrganizationFactory, RequesterFactory

MAX_QUERIES = 10


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def _add_users(count):
    for _ in range(count):
        RequesterFactory(organization=OrganizationFactory())


def _add_groups(count):
    agents = AgentFactory.create_batch(3)
    organizations = OrganizationFactory.create_batch(2)
    for _ in range(count):
        GroupFactory(members=agents, organizations=organizations)


def test_users_list_queries_do_not_grow_with_rows(as_supervisor, django_assert_max_num_queries):
    url = reverse("manage:users")
    _add_users(3)
    few = _queries(as_supervisor, url)
    _add_users(27)
    with django_assert_max_num_queries(few):
        as_supervisor.get(url)
    assert few <= MAX_QUERIES


def test_groups_list_queries_do_not_grow_with_rows(as_supervisor, django_assert_max_num_queries):
    url = reverse("manage:groups")
    _add_groups(3)
    few = _queries(as_supervisor, url)
    _add_groups(27)
    with django_assert_max_num_queries(few):
        as_supervisor.get(url)
    assert few <= MAX_QUERIES


def test_organizations_list_queries_do_not_grow_with_rows(
    as_supervisor, django_assert_max_num_queries
):
    url = reverse("manage:organizations")
    _add_users(3)
    few = _queries(as_supervisor, url)
    _add_users(27)
    with django_assert_max_num_queries(few):
        as_supervisor.get(url)
    assert few <= MAX_QUERIES
