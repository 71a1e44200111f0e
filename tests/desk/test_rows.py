"""The queue's rows, built in Python (desk/rows.py): what an agent reads in each cell."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import formats, translation
from django.utils.dateformat import DateFormat
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


# Moments from 2000 to 2040, in zones with and without summer time and half-hour offsets.
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
LANGUAGES = st.sampled_from(["en", "zh-hans"])


@given(moment=MOMENTS, zone=ZONES, language=LANGUAGES)
def test_dates_read_like_django_dateformat(moment, zone, language):
    """rows._Dates keeps the texts of month names, "p.m." and the like between rows: what it
    writes must be DateFormat's text for every format character, zone and language."""
    local = moment.astimezone(ZoneInfo(zone))
    every_character = (
        r"a A b c d D e E f F g G h H i I j l L m M n N o O P r s S t T u U w W y Y z Z \j\a"
    )
    with translation.override(language):
        dates = rows._Dates(translation.get_language())
        for name in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT", "DATE_FORMAT"):
            format_string = formats.get_format(name)
            assert dates.format(local, format_string) == DateFormat(local).format(format_string)
        assert dates.format(local, every_character) == DateFormat(local).format(every_character)


@given(moment=MOMENTS, other=MOMENTS, zone=ZONES, language=LANGUAGES)
def test_ages_and_times_left_read_like_django_timesince(moment, other, zone, language):
    """Either order (a due time in the future reads "0 minutes" in timesince), across month
    ends and leap days, in the zone the dates are shown in."""
    local = moment.astimezone(ZoneInfo(zone))
    with translation.override(language):
        units = rows._units(translation.get_language())
        assert rows._ago(local, other, units) == timesince(local, other)
        assert rows._ago(other, local, units) == timesince(other, local)


@pytest.mark.parametrize(
    ("moment", "now"),
    [
        (datetime(2024, 1, 31, 10, tzinfo=UTC), datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2024, 2, 29, 10, tzinfo=UTC), datetime(2025, 3, 1, 9, tzinfo=UTC)),
        (datetime(2026, 11, 27, 12, tzinfo=UTC), datetime(2026, 11, 27, 12, 0, 59, tzinfo=UTC)),
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_ages_at_month_ends_and_under_a_minute(moment, now):
    assert rows._ago(moment, now) == timesince(moment, now)
