"""GET /metrics in the Prometheus text format, for the token in METRICS_TOKEN.

Two kinds of figures, kept apart because a scrape reaches one process out of several:
- request latency is a histogram each web process fills; under `firstline serve` the
  processes share it through prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
  which `serve` sets up), so any worker answers for all of them;
- queue depth, e-mail import lag, SLA breaches and open tickets describe the whole
  installation: they are read from the database (and Redis) at each scrape, never counted
  in a process, so every web process on every machine gives the same answer.
"""

import hmac
import os
import time

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from firstline.core import clock

REQUEST_LATENCY = Histogram(
    "firstline_http_request_duration_seconds",
    "Time from receiving a request to returning its response, per route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Times every request; labels it with the URL pattern (not the path: bounded labels)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(method, route or "unmatched", str(response.status_code)).observe(
            time.perf_counter() - began
        )
        return response


class InstallationCollector:
    """Figures of the whole installation, read when Prometheus scrapes."""

    def collect(self):
        from firstline.channels.models import InboundMessage
        from firstline.sla.models import SlaEvent
        from firstline.tickets.lifecycle import ACTIVE_STATUSES
        from firstline.tickets.models import Ticket

        depth = GaugeMetricFamily(
            "firstline_task_queue_depth", "Background tasks waiting to run.", labels=["queue"]
        )
        for queue, waiting in task_queue_depths().items():
            depth.add_metric([queue], waiting)
        yield depth

        oldest = InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).aggregate(
            oldest=Min("received_at")
        )["oldest"]
        lag = (clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "firstline_email_import_lag_seconds",
            "Age of the oldest received e-mail not yet processed (0: none waiting).",
            value=max(lag, 0.0),
        )

        breaches = SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACH).count()
        yield CounterMetricFamily(
            "firstline_sla_breaches", "SLA targets breached, since the beginning.", breaches
        )

        open_tickets = GaugeMetricFamily(
            "firstline_open_tickets", "Tickets not resolved or closed.", labels=["status"]
        )
        counts = dict(
            Ticket.objects.filter(status__in=ACTIVE_STATUSES)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in sorted(ACTIVE_STATUSES):
            open_tickets.add_metric([status], counts.get(status, 0))
        yield open_tickets


def task_queue_depths() -> dict[str, int]:
    """Tasks waiting per queue: rows ready to run in the database, or jobs in Redis."""
    if settings.TASKS_BACKEND == "rq":
        import django_rq

        return {name: django_rq.get_queue(name).count for name in settings.RQ_QUEUES}
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.ready().values_list("queue_name").annotate(n=Count("pk"))
    return dict(waiting.values_list("queue_name", "n")) or {"default": 0}


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(InstallationCollector())
    return registry


class _ThisProcess:
    """This process's request metrics, when it is the only web process (runserver)."""

    def collect(self):
        yield from REQUEST_LATENCY.collect()


@never_cache
@require_GET
def metrics(request):
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
