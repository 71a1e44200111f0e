"""Two web servers and two workers on one PostgreSQL and one Redis, as on two machines.

Tickets (API) and e-mails (the inbound endpoint; each message pushed to both servers at
once, as two MX hosts would) go through both servers concurrently; then every ticket must
exist once, every notification must reach the SMTP server once, and every periodic job must
have been enqueued once per tick although both workers run the scheduler.

The servers and workers are real `firstline serve` / `firstline worker` processes, so the
data they see must be committed: the test uses its own database (named after DATABASE_URL's,
plus `_scaleout`) and Redis database 15, both emptied at the start and the end.
"""

import collections
import gc
import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from django_tasks import task

from firstline.core import metrics
from firstline.core.scheduler import JOBS

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = "redis://127.0.0.1:6379/15"
HOST = "127.0.0.1"
API_TICKETS = 24
EMAILS = 12
DEADLINE = 45.0  # seconds for everything sent to be processed and mailed

needs_postgres = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL (DATABASE_URL=postgres://...) and Redis: several processes "
    "share one database, which SQLite cannot serve to several machines",
)

SETUP = """
import json
import django
django.setup()
from firstline.accounts.models import Role
from firstline.accounts.services import (
    create_api_token, create_group, create_organization, create_user,
)
from firstline.channels.services import create_mailbox

org = create_organization(actor=None, slug="acme", name="Acme Trading")
agent = create_user(actor=None, username="agent", email="agent@acme.test", role=Role.AGENT)
group = create_group(actor=None, slug="desk", name="Service desk", members=[agent])
for i in range(%(requesters)d):
    create_user(actor=None, username=f"req{i}", email=f"req{i}@acme.test", organization=org)
box, mailbox_token = create_mailbox(actor=None, address="help@firstline.example", group=group)
print(json.dumps({"agent": create_api_token(user=agent, name="t")[1], "mailbox": mailbox_token}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        message = "needs Redis on 127.0.0.1:6379 (.ci/run starts it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return client


class Postgres:
    """The test's own database beside DATABASE_URL's, made empty and dropped at the end."""

    def __init__(self):
        parts = urllib.parse.urlsplit(DATABASE_URL)
        self.name = (parts.path.lstrip("/") or "firstline") + "_scaleout"
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
        self.maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))

    def recreate(self, drop_only=False):
        import psycopg

        with psycopg.connect(self.maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            if not drop_only:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def rows(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def value(self, sql: str, *params):
        return self.rows(sql, *params)[0][0]


class SmtpSink:
    """A real SMTP server keeping every message it is given."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[bytes] = []
        self.port = free_port()
        self.controller = Controller(self, hostname=HOST, port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"

    def message_ids(self) -> collections.Counter:
        return collections.Counter(
            message_from_bytes(raw, policy=policy.default)["Message-ID"].strip("<>")
            for raw in list(self.messages)
        )


@pytest.fixture
def cluster(tmp_path):
    """Starts the database, Redis, the SMTP sink; yields a function starting processes."""
    redis_client = redis_or_skip()
    redis_client.flushdb()
    postgres = Postgres()
    postgres.recreate()
    sink = SmtpSink()
    sink.controller.start()
    env = {k: v for k, v in os.environ.items() if k not in ("TASKS_BACKEND_CLASS", "DEBUG")}
    env.update(
        DATABASE_URL=postgres.url,
        TASKS_BACKEND="rq",
        REDIS_URL=REDIS_URL,
        CACHE_URL=REDIS_URL,
        EMAIL_HOST=HOST,
        EMAIL_PORT=str(sink.port),
        SECRET_KEY="scale-out-test-secret-key-" + "x" * 40,
        ALLOWED_HOSTS=HOST,
        FIRSTLINE_DATA_DIR=str(tmp_path),
        LOG_FORMAT="json",
        METRICS_TOKEN="metrics-secret",
        DJANGO_SETTINGS_MODULE="firstline.settings",
    )
    processes: list[subprocess.Popen] = []

    def run(*args, log: str) -> subprocess.Popen:
        out = (tmp_path / log).open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "firstline", *args], env=env, stdout=out, stderr=out
        )
        processes.append(process)
        return process

    try:
        yield env, run, postgres, sink, tmp_path
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.controller.stop()
        redis_client.flushdb()
        postgres.recreate(drop_only=True)


def prepare(env: dict) -> dict:
    """Migrates, collects the static files once for both servers, makes the users and the
    mailbox; returns the agent's API token and the mailbox's inbound token."""

    def firstline(*args) -> str:
        done = subprocess.run(
            [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    firstline("-m", "firstline", "migrate", "--no-input", "-v", "0")
    firstline("-m", "firstline", "collectstatic", "--no-input", "-v", "0")
    out = firstline("-c", SETUP % {"requesters": API_TICKETS})
    return json.loads(out.strip().splitlines()[-1])


def wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            status, _ = request(port, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no /healthz on port {port}:\n{log.read_text()[-3000:]}")


def request(port: int, method: str, path: str, body: bytes = b"", headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw_mail(i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {i} <customer{i}@client.example>"
    msg["To"] = "help@firstline.example"
    msg["Subject"] = f"Mail ticket {i}"
    msg["Message-ID"] = f"<scaleout-{i}@client.example>"
    msg.set_content(f"The scanner number {i} does not scan.\n")
    return msg.as_bytes(policy=policy.SMTP)


def send_everything(ports: list[int], tokens: dict) -> None:
    """API tickets alternate between the servers; each e-mail goes to both at once."""
    api_headers = {"Authorization": f"Bearer {tokens['agent']}", "Content-Type": "application/json"}
    mail_headers = {
        "Authorization": f"Bearer {tokens['mailbox']}",
        "Content-Type": "message/rfc822",
    }

    def api_ticket(i):
        body = json.dumps(
            {"subject": f"API ticket {i}", "description": "Broken.", "requester": f"req{i}"}
        )
        return request(ports[i % 2], "POST", "/api/v1/tickets", body.encode(), api_headers)

    def push_mail(i, port):
        return request(port, "POST", "/api/v1/channels/email/inbound", raw_mail(i), mail_headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(api_ticket, i) for i in range(API_TICKETS)]
        mails = [pool.submit(push_mail, i, port) for i in range(EMAILS) for port in ports]
    for future in futures:
        status, body = future.result()
        assert status == 201, body
    for future in mails:
        status, body = future.result()
        assert status == 202, body


def wait_for_quiet(postgres: Postgres, sink: SmtpSink) -> None:
    """Until every e-mail is processed and every outbound message sent and received."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        waiting = postgres.value(
            "SELECT count(*) FROM channels_inboundmessage WHERE status = 'received'"
        )
        unsent = postgres.value(
            "SELECT count(*) FROM channels_outboundmessage WHERE status <> 'sent'"
        )
        sent = postgres.value("SELECT count(*) FROM channels_outboundmessage")
        everything = not waiting and not unsent and sent >= API_TICKETS + EMAILS
        if everything and sum(sink.message_ids().values()) >= sent:
            return
        time.sleep(0.5)
    raise AssertionError(f"not done in {DEADLINE:.0f}s: {waiting} e-mails, {unsent} unsent")


def claimed_ticks(logs: list[Path]) -> list[tuple[str, str]]:
    """(job, tick) for every periodic job a worker's scheduler enqueued, from its JSON log."""
    ticks = []
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "firstline.core.scheduler" and "job" in entry:
                    ticks.append((entry["job"], entry["tick"]))
    return ticks


def enqueued_jobs() -> collections.Counter:
    """How many RQ jobs of each task exist: run (finished or failed), running or waiting."""
    import redis
    from rq import Queue
    from rq.job import Job

    queue = Queue("default", connection=redis.Redis.from_url(REDIS_URL))
    ids = [
        *queue.get_job_ids(),
        *queue.finished_job_registry.get_job_ids(),
        *queue.failed_job_registry.get_job_ids(),
        *queue.started_job_registry.get_job_ids(),
    ]
    failed = queue.failed_job_registry.count
    assert failed == 0, f"{failed} tasks failed"
    jobs = Job.fetch_many(ids, connection=queue.connection)
    return collections.Counter(job.func_name for job in jobs if job is not None)


@needs_postgres
def test_two_servers_and_two_workers_do_everything_once(cluster):
    env, run, postgres, sink, tmp_path = cluster
    tokens = prepare(env)
    ports = [free_port(), free_port()]
    # The default server (a request at a time per process) and a threaded one.
    servers = [
        run("serve", "--port", str(port), "--workers", "2", *threads,
            "--no-collectstatic", log=f"web{n}.log")
        for n, (port, threads) in enumerate(zip(ports, [[], ["--threads", "4"]], strict=True))
    ]  # fmt: skip
    workers = [run("worker", log=f"worker{n}.log") for n in range(2)]
    for port, server, n in zip(ports, servers, range(2), strict=True):
        wait_until_up(port, server, tmp_path / f"web{n}.log")

    send_everything(ports, tokens)
    wait_for_quiet(postgres, sink)

    subjects = collections.Counter(
        subject for (subject,) in postgres.rows("SELECT subject FROM tickets_ticket")
    )
    expected = {f"API ticket {i}" for i in range(API_TICKETS)} | {
        f"Mail ticket {i}" for i in range(EMAILS)
    }
    assert set(subjects) == expected
    assert set(subjects.values()) == {1}, "a ticket was created twice"

    outbound = postgres.rows("SELECT message_id, kind FROM channels_outboundmessage")
    assert collections.Counter(kind for _, kind in outbound)["ack"] == API_TICKETS + EMAILS
    received = sink.message_ids()
    assert set(received) == {message_id for message_id, _ in outbound}
    assert set(received.values()) == {1}, "a notification was sent twice"

    status, metrics = request(
        ports[0], "GET", "/metrics", headers={"Authorization": "Bearer metrics-secret"}
    )
    assert status == 200
    assert f'firstline_open_tickets{{status="new"}} {float(len(expected))}' in metrics.decode()
    assert "firstline_http_request_duration_seconds_count" in metrics.decode()

    for worker in workers:  # a warm shutdown: each finishes the task in hand
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)
    ticks = claimed_ticks([tmp_path / "worker0.log", tmp_path / "worker1.log"])
    assert {job for job, _ in ticks} == {job.name for job in JOBS}, "a job never ran"
    assert len(ticks) == len(set(ticks)), "two workers enqueued the same tick"
    every = {job.name: job.every for job in JOBS}
    for name in every:
        times = sorted(datetime.fromisoformat(tick) for job, tick in ticks if job == name)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= every[name] for gap in gaps), f"{name} ran early: {gaps}"
    tasks = enqueued_jobs()
    per_job = collections.Counter(job for job, _ in ticks)
    for job in JOBS:
        if job.name != "send_outbox":  # also enqueued by every outgoing message
            assert tasks[job.task] == per_job[job.name], job.name


@task()
def remembered(note: str) -> str:
    """Enqueued by the tests below, never run."""
    return note


@pytest.mark.django_db(transaction=True)
def test_a_task_reaches_redis_when_its_transaction_commits_and_never_if_it_rolls_back():
    from rq import Queue

    client = redis_or_skip()
    client.flushdb()
    queue = Queue("default", connection=client)
    rq_settings = override_settings(
        TASKS_BACKEND="rq",
        TASKS={"default": {"BACKEND": "firstline.core.taskqueue.RQBackend"}},
        RQ_QUEUES={"default": {"URL": REDIS_URL}},
    )
    try:
        with rq_settings:
            with transaction.atomic():
                committed = remembered.enqueue("kept")
                assert queue.count == 0  # a worker must not see it before the rows exist
            assert queue.job_ids == [committed.id]

            with pytest.raises(RuntimeError), transaction.atomic():
                remembered.enqueue("dropped")
                raise RuntimeError("rolled back")
            outside = remembered.enqueue("at once")  # no transaction: pushed right away
            assert queue.job_ids == [committed.id, outside.id]
            assert metrics.task_queue_depths() == {"default": 2}
    finally:
        client.flushdb()


def test_serve_takes_its_options_from_flags_or_the_environment(monkeypatch, tmp_path, settings):
    from firstline.core.management.commands import serve

    monkeypatch.setenv("WEB_WORKERS", "3")
    monkeypatch.setenv("WEB_THREADS", "6")
    monkeypatch.setenv("PORT", "9001")
    parser = serve.Command().create_parser("firstline", "serve")

    from_env = serve._gunicorn_options(vars(parser.parse_args([])), tmp_path)
    assert (from_env["workers"], from_env["threads"]) == (3, 6)
    assert from_env["bind"] == "127.0.0.1:9001"
    assert from_env["worker_class"] == "gthread"
    assert from_env["accesslog"] is None
    monkeypatch.delenv("WEB_THREADS")
    defaults = serve.Command().create_parser("firstline", "serve").parse_args([])
    one_each = serve._gunicorn_options(vars(defaults), tmp_path)
    assert (one_each["threads"], one_each["worker_class"]) == (1, "sync")  # the default

    flags = ["--bind", "0.0.0.0", "--port", "8080", "--workers", "5", "--access-log"]
    from_flags = serve._gunicorn_options(vars(parser.parse_args(flags)), tmp_path)
    assert (from_flags["bind"], from_flags["workers"]) == ("0.0.0.0:8080", 5)
    assert from_flags["accesslog"] == "-"
    assert "logconfig_dict" not in from_flags

    settings.LOG_FORMAT = "json"
    as_json = serve._gunicorn_options(vars(parser.parse_args([])), tmp_path)
    loggers = as_json["logconfig_dict"]["loggers"]
    assert loggers["gunicorn.access"]["level"] == "WARNING"  # no access log unless asked
    assert as_json["logconfig_dict"]["handlers"]["json"]["formatter"] == "json"


def test_the_workers_fork_with_the_loaded_application_out_of_the_collectors_way():
    from firstline.core.management.commands import serve

    server = serve.FirstlineServer({"bind": "127.0.0.1:0"})
    gc.unfreeze()
    try:
        assert server.load() is not None
        assert gc.get_freeze_count() > 0  # the objects loaded so far: no full pass visits them
    finally:
        gc.unfreeze()
