"""The queue page's parts written in Python (headings, inputs, rows) write what the templates
and models they replace wrote, and show the database as it is at each request."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django import forms
from django.http import QueryDict
from django.template import Context, Template
from django.urls import reverse

from firstline.desk.forms import QueueFilterForm
from firstline.desk.templatetags.desk_counts import group_links
from firstline.desk.templatetags.queue_rows import queue_header
from firstline.desk.views.queue import COLUMNS
from firstline.desk.widgets import FastInput
from firstline.sla import services as sla_services
from firstline.sla.models import TicketSla
from firstline.sla.services import TargetMinutes
from firstline.tickets import services
from firstline.tickets.models import Priority

pytestmark = pytest.mark.django_db

# The template loop the headings were written by before queue_header.
HEADINGS = Template(
    """{% for key, label in columns %}
          <th scope="col">
            {% if sort == key %}{% with "-"|add:key as next %}
              <a href="?{{ query_without_sort }}{% if query_without_sort %}&{% endif %}sort={{ next }}" hx-get="?{{ query_without_sort }}{% if query_without_sort %}&{% endif %}sort={{ next }}" hx-target="#ticket-list" hx-push-url="true">{{ label }} ▲</a>{% endwith %}
            {% else %}
              <a href="?{{ query_without_sort }}{% if query_without_sort %}&{% endif %}sort={{ key }}" hx-get="?{{ query_without_sort }}{% if query_without_sort %}&{% endif %}sort={{ key }}" hx-target="#ticket-list" hx-push-url="true">{{ label }}{% if sort == "-"|add:key %} ▼{% endif %}</a>
            {% endif %}
          </th>
        {% endfor %}"""  # noqa: E501
)


@pytest.mark.parametrize("sort", ["due", "-due", "-priority", "subject", "nonsense"])
@pytest.mark.parametrize("query", ["", "q=vpn&status=open", 'tag=<b>"x"</b>'])
def test_headings_are_what_the_template_loop_wrote(sort, query):
    context = {"columns": COLUMNS, "sort": sort, "query_without_sort": query}
    assert queue_header(COLUMNS, sort, query) == HEADINGS.render(Context(context))


# The sidebar's template loop before group_links.
GROUP_LINKS = Template(
    """{% load desk_counts %}{% for group in groups %}
    {% with key="group-"|add:group.slug %}
    <a href="{% url 'desk:queue' key %}" {% if current_queue == key %}aria-current="page"{% endif %}>{{ group.name }} <small class="muted">L{{ group.tier }}</small> <span class="count">{{ counts|count_of:key }}</span></a>
    {% endwith %}
  {% endfor %}"""  # noqa: E501
)


@pytest.mark.parametrize("current", ["mine", "group-l2", "group-l1"])
def test_group_links_are_what_the_template_loop_wrote(desk, current):
    desk.l2.name = 'Desktop <Support> & "more"'
    groups = [desk.l1, desk.l2, desk.l3]
    counts = {"group-l1": 3, "group-l2": 0, "mine": 7}
    context = {"groups": groups, "counts": counts, "current_queue": current}
    assert group_links(groups, counts, current) == GROUP_LINKS.render(Context(context))


@pytest.mark.parametrize("input_type", ["text", "hidden"])
@pytest.mark.parametrize("value", [None, "", "vpn", '<b>"x" & y</b>', 42])
@pytest.mark.parametrize(
    "attrs", [{}, {"id": "filter_q", "maxlength": 200}, {"required": True, "disabled": False}]
)
def test_fast_inputs_are_what_djangos_templates_wrote(input_type, value, attrs):
    django_widget = forms.HiddenInput(attrs) if input_type == "hidden" else forms.TextInput(attrs)
    fast = FastInput(attrs, input_type)
    assert fast.render("q", value, {"class": "x"}) == django_widget.render(
        "q", value, {"class": "x"}
    )


def test_the_assignee_filter_takes_agents_and_refuses_others(desk):
    def form(assignee):
        filters = QueueFilterForm(QueryDict(f"assignee={assignee}"), user=desk.l1_agent)
        return filters, filters.is_valid()

    for good in (str(desk.l2_agent.pk), "none", ""):
        filters, valid = form(good)
        assert valid, filters.errors
    filters, valid = form(desk.alice.pk)  # a requester
    assert not valid and "assignee" in filters.errors
    assert filters.filters().assignee_id is None  # left out, shown with its error
    filters, _ = form(desk.l2_agent.pk)
    assert filters.filters().assignee_id == desk.l2_agent.pk


def _row(page: str, number: int) -> str:
    return re.search(rf'<tr><td><input[^>]*value="{number}".*?</tr>', page, re.S).group(0)


def test_sla_badges_show_each_tickets_state(client, desk, new_ticket):
    """Running, warning, breached, paused: the badge of each row is the state the SLA model
    gives (the rows read the SLA's columns without making model instances)."""
    with time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), tick=False) as traveller:
        office = sla_services.create_calendar(
            actor=None, name="Office", time_zone="UTC", always_open=True
        )
        minutes = TargetMinutes(60, 120, 480)
        sla_services.create_policy(
            actor=None, name="All", calendar=office, targets=dict.fromkeys(Priority, minutes)
        )
        tickets = [new_ticket(subject=f"Ticket {i}") for i in range(3)]
        traveller.move_to(datetime(2026, 3, 2, 1, 50, tzinfo=UTC))  # past the 75% warning
        tickets.append(new_ticket(subject="Fresh"))
        services.update_ticket(
            actor=desk.l1_agent, ticket=tickets[1], channel="web", status="pending"
        )
        traveller.move_to(datetime(2026, 3, 2, 2, 5, tzinfo=UTC))  # first responses overdue
        client.force_login(desk.supervisor)
        page = client.get(reverse("desk:queue", args=["all"]), {"sort": "due"}).content.decode()
        states = {sla.ticket_id: sla.state for sla in TicketSla.objects.all()}
    assert set(states.values()) >= {"breached", "paused", "running"}
    for ticket in tickets:
        assert f"badge sla-{states[ticket.pk]}" in _row(page, ticket.pk)


def test_rows_show_the_database_as_it_is_at_each_request(client, desk):
    ticket = services.create_ticket(
        actor=desk.l1_agent,
        requester=desk.alice,
        subject="Before",
        tags=["old"],
        assignee=desk.l1_agent,
    )
    client.force_login(desk.l1_agent)
    url = reverse("desk:queue", args=["mine"])
    assert "Before" in _row(client.get(url).content.decode(), ticket.pk)
    services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", tags=["new"], priority="urgent"
    )
    row = _row(client.get(url).content.decode(), ticket.pk)
    assert "· new" in row and "· old" not in row and "priority-urgent" in row
