"""GET /metrics for Prometheus, and the request ids and JSON lines of the logs."""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings
from django_tasks import task

from firstline.channels import services as channel_services
from firstline.channels.models import InboundMessage
from firstline.core.logs import JsonFormatter, RequestContextFilter
from firstline.sla.models import SlaEvent

from ..factories import TicketFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, float]:
    """The samples of one scrape: {'name{labels}': value}."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_are_refused_without_the_token(client, settings):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 401
    assert TOKEN not in wrong.content.decode()
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_open_tickets_are_counted_by_status(client):
    TicketFactory.create_batch(3)
    TicketFactory(status="pending")
    TicketFactory(status="closed")

    samples = scrape(client)

    assert samples['firstline_open_tickets{status="new"}'] == 3
    assert samples['firstline_open_tickets{status="pending"}'] == 1
    assert samples['firstline_open_tickets{status="open"}'] == 0
    assert not any("closed" in name for name in samples)


def test_sla_breaches_are_counted_and_warnings_are_not(client):
    tickets = TicketFactory.create_batch(2)
    for ticket, kind in [(tickets[0], "breach"), (tickets[1], "breach"), (tickets[1], "warning")]:
        SlaEvent.objects.create(
            ticket=ticket, target="resolution", kind=kind, due_at=NOW, claim=uuid.uuid4()
        )

    assert scrape(client)["firstline_sla_breaches_total"] == 2


def test_email_import_lag_is_the_age_of_the_oldest_waiting_message(client):
    mailbox, _ = channel_services.create_mailbox(actor=None, address="help@firstline.example")

    def stored(received_at, status):
        InboundMessage.objects.create(
            mailbox=mailbox, source="http", raw=b"x", sha256="0" * 64, size=1,
            status=status, received_at=received_at,
        )  # fmt: skip

    stored(NOW - timedelta(hours=5), InboundMessage.Status.PROCESSED)
    stored(NOW - timedelta(seconds=90), InboundMessage.Status.RECEIVED)
    stored(NOW - timedelta(seconds=10), InboundMessage.Status.RECEIVED)

    with time_machine.travel(NOW, tick=False):
        assert scrape(client)["firstline_email_import_lag_seconds"] == 90
        InboundMessage.objects.filter(status="received").update(status="processed")
        assert scrape(client)["firstline_email_import_lag_seconds"] == 0


@task()
def waiting_task() -> None:
    """Enqueued, never run: the queue depth counts it."""


def test_queue_depth_counts_tasks_waiting_in_the_database(client):
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        assert scrape(client)['firstline_task_queue_depth{queue="default"}'] == 0
        waiting_task.enqueue()
        waiting_task.enqueue()
        assert scrape(client)['firstline_task_queue_depth{queue="default"}'] == 2


def test_request_latency_is_recorded_per_route(client):
    def count(samples):
        key = (
            'firstline_http_request_duration_seconds_count{method="GET",route="healthz",'
            'status="200"}'
        )
        return samples.get(key, 0)

    before = count(scrape(client))
    client.get("/healthz")
    client.get("/healthz")

    assert count(scrape(client)) == before + 2


def test_each_response_carries_a_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]
    given = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert given["X-Request-ID"] == "lb-7f3a.42"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x"\n{"level": "ERROR"}')
    assert forged["X-Request-ID"] != 'x"\n{"level": "ERROR"}'


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestContextFilter())

    def emit(self, record):
        self.lines.append(self.format(record))


def test_json_log_lines_carry_the_request_id_and_path(client):
    handler = _Lines()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-123")
    finally:
        logger.removeHandler(handler)

    assert response.status_code == 404
    (line,) = handler.lines
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "django.request"
    assert entry["message"] == "Not Found: /no-such-page/"
    assert (entry["request_id"], entry["path"]) == ("req-123", "/no-such-page/")
    assert entry["status_code"] == 404
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_json_log_lines_outside_requests_keep_exceptions_on_one_line():
    handler = _Lines()
    logger = logging.getLogger("firstline.tests.json")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("bad input")
        except ValueError:
            logger.exception("Task failed for %s", "ticket 7", extra={"ticket": 7})
    finally:
        logger.removeHandler(handler)

    (line,) = handler.lines
    entry = json.loads(line)
    assert entry["message"] == "Task failed for ticket 7"
    assert entry["ticket"] == 7
    assert "ValueError: bad input" in entry["exception"]
    assert "request_id" not in entry
