"""The queue's rows, built in Python (desk/rows.py): what an agent reads in each cell."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.timesince import timesince
from hypothesis import given
from hypothesis import strategies as st

from firstline.desk import rows
from firstline.tickets import services

pytestmark = pytest.mark.django_db


@given(
    minutes=st.integers(min_value=0, max_value=60 * 24 * 400),
    language=st.sampled_from(["en", "zh-hans"]),
)
def test_ages_read_like_django_timesince_in_both_languages(minutes, language):
    now = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
    moment = now - timedelta(minutes=minutes, seconds=17)
    with translation.override(language):
        assert rows._ago(moment, now) == timesince(moment, now)


def test_a_row_shows_the_ticket_escaped_with_its_link_labels_and_tags(client, desk):
    ticket = services.create_ticket(
        actor=desk.l1_agent,
        requester=desk.alice,
        subject="<b>VPN</b> & Wi-Fi",
        priority="high",
        tags=["vpn", "<x>"],
        assignee=desk.l1_agent,
    )
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:queue", args=["mine"])).content.decode()
    row = re.search(rf'<tr><td><input[^>]*value="{ticket.pk}".*?</tr>', page, re.S).group(0)
    assert f'href="{reverse("desk:ticket", args=[ticket.pk])}"' in row
    assert "&lt;b&gt;VPN&lt;/b&gt; &amp; Wi-Fi" in row and "<b>" not in row
    assert f'aria-label="Select ticket #{ticket.pk}"' in row
    assert "badge status-open" in row and ">Open<" in row
    assert "badge priority-high" in row and ">High<" in row
    assert desk.alice.display_name in row and desk.l1_agent.display_name in row
    assert "· vpn" in row and "· &lt;x&gt;" in row
    assert '<span class="muted">—</span>' in row  # no SLA on this desk


def test_rows_are_translated(client, desk, new_ticket):
    new_ticket(subject="打印机卡纸")
    desk.l1_agent.language = "zh-hans"
    desk.l1_agent.save(update_fields=["language"])
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:queue", args=["unassigned"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page.content.decode()
    assert "打印机卡纸" in body and "选择工单" in body


def test_an_empty_queue_says_so(client, desk):
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:queue", args=["mine"])).content.decode()
    assert "No tickets here. Nice work." in page
