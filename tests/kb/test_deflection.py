"""Suggestions while typing a new request, and deflections: a suggested article read with no
request from the same session within the window."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from firstline.kb import selectors

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def vpn(article):
    return article(title="Connecting to the VPN from home", body="Install the client.")


def report_row(user, article):
    rows = {row.pk: row for row in selectors.deflection_report(user, days=30)}
    return rows[article.pk]


def test_typing_a_subject_suggests_matching_public_articles(client, desk, vpn, article):
    article(title="VPN gateway runbook", visibility="internal")
    client.force_login(desk.alice)
    page = client.get(reverse("kb:suggest"), {"subject": "vpn from ho"}).content.decode()
    assert "Connecting to the VPN from home" in page
    assert "?from=suggestion" in page
    assert "runbook" not in page
    assert client.get(reverse("kb:suggest"), {"subject": "x"}).content.decode().strip() == ""


def test_the_new_request_form_asks_for_suggestions_as_the_subject_is_typed(client, desk):
    client.force_login(desk.alice)
    page = client.get(reverse("portal:submit")).content.decode()
    assert 'hx-get="/kb/suggest/"' in page
    assert "keyup changed delay:300ms from:#id_subject" in page


def test_reading_a_suggestion_and_leaving_is_a_deflection(client, desk, vpn):
    client.force_login(desk.alice)
    with time_machine.travel(START, tick=False):
        client.get(reverse("kb:article", args=[vpn.pk]), {"from": "suggestion"})
        client.get(reverse("kb:article", args=[vpn.pk]))  # a plain reading: not suggested
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        row = report_row(desk.supervisor, vpn)
        assert (row.recent_views, row.recent_suggested_views) == (2, 1)
        assert row.recent_deflections == 0  # they may still send the request
    with time_machine.travel(START + timedelta(minutes=31), tick=False):
        assert report_row(desk.supervisor, vpn).recent_deflections == 1


def test_a_request_sent_after_reading_is_no_deflection(client, desk, vpn):
    client.force_login(desk.alice)
    with time_machine.travel(START, tick=False):
        client.get(reverse("kb:article", args=[vpn.pk]), {"from": "suggestion"})
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        form = {"subject": "VPN still fails", "description": "Tried it.", "priority": "normal"}
        assert client.post(reverse("portal:submit"), form).status_code == 302
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        row = report_row(desk.supervisor, vpn)
        assert row.recent_suggested_views == 1 and row.recent_deflections == 0


def test_another_session_sending_a_request_does_not_undo_a_deflection(client, desk, vpn):
    from django.test import Client

    client.force_login(desk.alice)
    other = Client()
    other.force_login(desk.bob)
    with time_machine.travel(START, tick=False):
        client.get(reverse("kb:article", args=[vpn.pk]), {"from": "suggestion"})
        form = {"subject": "Other problem", "description": "x", "priority": "normal"}
        other.post(reverse("portal:submit"), form)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        assert report_row(desk.supervisor, vpn).recent_deflections == 1


def test_the_report_page_shows_the_counts(client, desk, vpn):
    client.force_login(desk.alice)
    with time_machine.travel(START, tick=False):
        client.get(reverse("kb:article", args=[vpn.pk]), {"from": "suggestion"})
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        client.force_login(desk.l1_agent)
        page = client.get(reverse("kb:manage_report")).content.decode()
        assert "Connecting to the VPN from home" in page
        client.force_login(desk.alice)
        assert client.get(reverse("kb:manage_report")).status_code == 403
