"""Side by side with django-helpdesk: the operations both have, on the same 100,000 tickets.

django-helpdesk (the latest from PyPI) is installed into its own virtual environment,
bench/peer/venv, with gunicorn; this script writes a minimal Django project for it
(bench/peer/project: its settings, URLs and a loader). bench/peer/ is git-ignored: nothing
of django-helpdesk is part of this repository.

Both get the same data: Firstline's from `firstline bench_seed --tickets N` (with the search
index, see common.seeded_database); the peer's is those tickets and their conversations
exported and bulk-loaded into its models (a queue per Firstline group, staff users for the
agents). Each is then served in turn by gunicorn with the same workers and threads as
`firstline serve` (which serves Firstline), and measured from one http.client connection:

- create a ticket through the REST API: Firstline `POST /api/v1/tickets` with a bearer
  token; django-helpdesk `POST /api/tickets/` with HTTP Basic auth (its documented way);
- the staff ticket list: Firstline's desk queue of all unresolved tickets (50 rows, the
  page includes them); django-helpdesk's `/tickets/` page and the data request its table
  makes right after (25 rows), timed together;
- ticket search: Firstline's desk queue with `q=` over all statuses; django-helpdesk's
  `/tickets/?q=` and its data request.

Printed: medians and p95 of both and the ratio (peer / Firstline); SQL queries of one list.

Usage: .venv/bin/python bench/peer.py [--postgres] [--tickets 100000] [--requests 20]
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    FIRSTLINE,
    PYTHON,
    ROOT,
    bench_env,
    die_with_parent,
    emit_result,
    format_table,
    free_port,
    latency_figures,
    recreate_pg_database,
    seeded_database,
    stop_process,
    tail,
)
from firstline.core.management.commands.serve import worker_class

HOST = "127.0.0.1"
PEER = ROOT / "bench" / "peer"
VENV = PEER / "venv"
PEER_PYTHON = VENV / "bin" / "python"
PROJECT = PEER / "project"
PG_FIRSTLINE = "firstline_bench_peer"
PG_PEER = "firstline_peer"
PEER_PASSWORD = "peer-bench-password"
WORKERS, THREADS = 2 * (os.cpu_count() or 1), 1  # firstline serve's defaults
WORKER_CLASS = worker_class(THREADS)  # as firstline serve picks it: sync, a request at a time
WARMUP = 3
SEARCHES = ["printer", "VPN", "password", "打印机"]
OPERATIONS = [("create", "API create"), ("list", "staff ticket list"), ("search", "search")]
COLUMNS = [("database", "database"), ("tickets", "tickets")] + [
    column
    for key, label in OPERATIONS
    for column in (
        (f"{key}_firstline_ms", f"{label} p50 ms: Firstline"),
        (f"{key}_peer_ms", "django-helpdesk"),
        (f"{key}_ratio", "× faster"),
    )
]

PEER_SETTINGS = """
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "peer-bench-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peer_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
url = os.environ["PEER_DATABASE"]
if url.startswith("postgres"):
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": url.rsplit("/", 1)[1],
        "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60,
    }}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": url}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_ID = 1
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("PEER_STATIC", str(BASE_DIR / "static"))
MEDIA_ROOT = os.environ.get("PEER_MEDIA", str(BASE_DIR / "media"))
LOGIN_URL = "helpdesk:login"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HELPDESK_TEAMS_MODE_ENABLED = False
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
"""

PEER_URLS = """
from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
"""

PEER_WSGI = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""

# Bulk-loads the export of Firstline's tickets into django-helpdesk's models (peer venv).
PEER_LOAD = r"""
import json, sys
from datetime import datetime
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from helpdesk.models import FollowUp, Queue, Ticket

STATUS = {"new": 1, "open": 1, "pending": 1, "on_hold": 1, "resolved": 3, "closed": 4}
PRIORITY = {4: 1, 3: 2, 2: 3, 1: 4}
User = get_user_model()
export = open(sys.argv[1], encoding="utf-8")
head = json.loads(next(export))
with transaction.atomic():
    boss = User.objects.create_superuser("bench", "bench@peer.test", sys.argv[2])
    users = {a: User(username=a, email=f"{a}@peer.test", is_staff=True) for a in head["agents"]}
    User.objects.bulk_create(users.values())
    users = {u.username: u.pk for u in User.objects.all()}
    queues = {}
    for group_id, name in head["groups"]:
        queues[group_id] = Queue.objects.create(
            title=name, slug=f"q{group_id}", allow_email_submission=False
        ).pk
tickets, followups, loaded = [], [], 0

def flush():
    global tickets, followups, loaded
    with transaction.atomic():
        Ticket.objects.bulk_create(tickets, batch_size=2000)
        FollowUp.objects.bulk_create(followups, batch_size=5000)
    loaded += len(tickets)
    tickets, followups = [], []

for line in export:
    t = json.loads(line)
    created = datetime.fromisoformat(t["created"])
    tickets.append(Ticket(
        id=t["id"], title=t["subject"][:200], queue_id=queues[t["group"]], created=created,
        modified=datetime.fromisoformat(t["updated"]), submitter_email=t["requester"],
        assigned_to_id=users.get(t["assignee"]), status=STATUS[t["status"]],
        on_hold=t["status"] == "on_hold", description=t["description"],
        priority=PRIORITY[t["priority"]],
    ))
    for body, public, moment, author in t["comments"]:
        followups.append(FollowUp(
            ticket_id=t["id"], title="Comment" if public else "Internal note", comment=body,
            public=public, date=datetime.fromisoformat(moment), user_id=users.get(author),
        ))
    if len(tickets) >= 10000:
        flush()
flush()
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), "
            "(SELECT MAX(id) FROM helpdesk_ticket))"
        )
        cursor.execute("ANALYZE")
print("LOADED", loaded, boss.pk)
"""

# In the peer venv: a session for the staff pages and the SQL queries of one list.
PEER_SETUP = r"""
import json, re
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from helpdesk.models import Queue

client = Client()
client.login(username="bench", password=__import__("sys").argv[1])
page = client.get("/tickets/")
assert page.status_code == 200, page.status_code
query = re.search(r"datatables_ticket_list/([A-Za-z0-9+/=]+)", page.content.decode()).group(1)
data = "/datatables_ticket_list/%s?draw=1&start=0&length=25" % query
client.get(data)
with CaptureQueriesContext(connection) as captured:
    client.get("/tickets/")
    client.get(data)
print("SETUP " + json.dumps({
    "session": client.cookies["sessionid"].value,
    "queue": Queue.objects.order_by("pk").first().pk,
    "list_queries": len(captured.captured_queries),
}))
"""

# In Firstline's venv: the export for the peer, then logins and one list's query count.
FIRSTLINE_EXPORT = r"""
import json, sys
import django
django.setup()
from firstline.accounts.models import Group, User
from firstline.tickets.models import Comment, Ticket

out = open(sys.argv[1], "w", encoding="utf-8")
agents = dict(User.objects.filter(role="agent").values_list("pk", "username"))
groups = list(Group.objects.order_by("pk").values_list("pk", "name"))
out.write(json.dumps({"agents": list(agents.values()), "groups": groups}) + "\n")
emails = dict(User.objects.filter(role="requester").values_list("pk", "email"))
last = 0
while True:
    batch = list(Ticket.objects.filter(pk__gt=last).order_by("pk")[:5000].values(
        "pk", "subject", "description", "status", "priority", "group_id", "assignee_id",
        "requester_id", "created_at", "updated_at"))
    if not batch:
        break
    last = batch[-1]["pk"]
    comments = {}
    for c in Comment.objects.filter(ticket_id__in=[t["pk"] for t in batch]).values(
            "ticket_id", "body", "is_public", "created_at", "author_id").order_by("pk"):
        comments.setdefault(c["ticket_id"], []).append(
            [c["body"], c["is_public"], c["created_at"].isoformat(), agents.get(c["author_id"])])
    for t in batch:
        out.write(json.dumps({
            "id": t["pk"], "subject": t["subject"], "description": t["description"],
            "status": t["status"], "priority": t["priority"], "group": t["group_id"],
            "assignee": agents.get(t["assignee_id"]), "requester": emails.get(t["requester_id"]),
            "created": t["created_at"].isoformat(), "updated": t["updated_at"].isoformat(),
            "comments": comments.get(t["pk"], []),
        }, ensure_ascii=False) + "\n")
out.close()
print("EXPORTED", last)
"""

FIRSTLINE_SETUP = r"""
import json
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from firstline.accounts.models import User
from firstline.accounts.services import create_api_token

supervisor = User.objects.filter(role="supervisor").order_by("pk").first()
requester = User.objects.filter(role="requester").order_by("pk").first()
client = Client()
client.force_login(supervisor)
client.get("/desk/queue/all/")
with CaptureQueriesContext(connection) as captured:
    assert client.get("/desk/queue/all/").status_code == 200
print("SETUP " + json.dumps({
    "session": client.cookies["sessionid"].value,
    "token": create_api_token(user=requester, name="bench")[1],
    "list_queries": len(captured.captured_queries),
}))
"""


def run_json(command: list[str], env: dict, marker: str, timeout: float = 1800) -> str:
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    for line in done.stdout.splitlines():
        if line.startswith(marker + " "):
            return line[len(marker) + 1 :]
    raise RuntimeError(
        f"{command[:3]} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
    )


def install_peer() -> str:
    """The peer's venv with the latest django-helpdesk; returns its version."""
    if not PEER_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    packages = ["django-helpdesk", "gunicorn", "psycopg[binary]"]
    pip = [str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", *packages]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    version = subprocess.run(
        [
            str(PEER_PYTHON),
            "-c",
            "import importlib.metadata as m; print(m.version('django-helpdesk'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if version.returncode != 0:
        raise RuntimeError(f"django-helpdesk could not be installed:\n{done.stderr[-3000:]}")
    return version.stdout.strip()


def write_project() -> None:
    PROJECT.mkdir(parents=True, exist_ok=True)
    for name, text in [
        ("peer_settings.py", PEER_SETTINGS),
        ("peer_urls.py", PEER_URLS),
        ("peer_wsgi.py", PEER_WSGI),
    ]:
        (PROJECT / name).write_text(text.lstrip())


def peer_env(database: str, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env.update(DJANGO_SETTINGS_MODULE="peer_settings", PYTHONPATH=str(PROJECT))
    env.update(PEER_DATABASE=database, PEER_STATIC=str(workdir / "peer-static"))
    env.update(PEER_MEDIA=str(workdir / "peer-media"))
    return env


def prepare_peer(args, workdir: Path, export: Path) -> tuple[dict, dict, float]:
    if args.postgres:
        recreate_pg_database(PG_PEER)
        database = f"postgres://postgres@127.0.0.1:5432/{PG_PEER}"
    else:
        database = str(workdir / "peer.sqlite3")
    env = peer_env(database, workdir)
    django_admin = [str(PEER_PYTHON), "-m", "django"]
    subprocess.run(
        [*django_admin, "migrate", "--no-input", "-v", "0"],
        env=env,
        cwd=PROJECT,
        check=True,
        timeout=900,
    )
    subprocess.run(
        [*django_admin, "collectstatic", "--no-input", "-v", "0"],
        env=env,
        cwd=PROJECT,
        check=True,
        timeout=300,
    )
    began = time.perf_counter()
    loader = workdir / "peer_load.py"
    loader.write_text(PEER_LOAD)
    run_json([str(PEER_PYTHON), str(loader), str(export), PEER_PASSWORD], env, "LOADED")
    load_s = time.perf_counter() - began
    setup = workdir / "peer_setup.py"
    setup.write_text(PEER_SETUP)
    return (
        env,
        json.loads(run_json([str(PEER_PYTHON), str(setup), PEER_PASSWORD], env, "SETUP")),
        load_s,
    )


def prepare_firstline(args, workdir: Path, export: Path) -> tuple[dict, dict, str]:
    name = PG_FIRSTLINE if args.postgres else "bench"
    url, how = seeded_database(
        name, postgres=args.postgres, tickets=args.tickets, workdir=workdir, search_index=True
    )
    env = bench_env(workdir, url, ALLOWED_HOSTS="127.0.0.1,testserver")
    subprocess.run(
        [FIRSTLINE, "collectstatic", "--no-input", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    run_json([PYTHON, "-c", FIRSTLINE_EXPORT, str(export)], env, "EXPORTED")
    setup = json.loads(run_json([PYTHON, "-c", FIRSTLINE_SETUP], env, "SETUP"))
    return env, setup, how


class Server:
    def __init__(self, command: list[str], env: dict, cwd: Path, log: Path, port: int):
        self.port, self.log = port, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def wait(self, path: str, headers: dict) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{tail(self.log)}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", path, headers=headers)
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not ready:\n{tail(self.log)}")

    def stop(self) -> None:
        stop_process(self.process)


def timed(port: int, requests: list) -> list[float]:
    """Each item: a list of (method, path, headers, body, expected status) done in turn and
    timed together (a page and the data request it makes). The first WARMUP are not kept."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    times = []
    for i, steps in enumerate(requests):
        began = time.perf_counter()
        for method, path, headers, body, expected in steps:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            if response.status != expected:
                raise RuntimeError(f"{method} {path}: {response.status} {content[:300]!r}")
        if i >= WARMUP:
            times.append(time.perf_counter() - began)
    conn.close()
    return times


def ticket_json(i: int, title_key: str, extra: dict) -> bytes:
    """A new ticket for either API (`subject` for Firstline, `title` for the peer)."""
    ticket = {
        title_key: f"Printer on floor {i % 9} jams (#{i})",
        "description": "It jams since this morning. 从今天早上开始就卡纸。",
        **extra,
    }
    return json.dumps(ticket, ensure_ascii=False).encode()


def measure_firstline(args, env: dict, setup: dict, workdir: Path) -> dict:
    port = free_port()
    command = [
        FIRSTLINE,
        "serve",
        "--port",
        str(port),
        "--no-collectstatic",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
    ]
    server = Server(command, env, ROOT, workdir / "firstline.log", port)
    desk = {"Cookie": f"sessionid={setup['session']}"}
    api = {"Authorization": f"Bearer {setup['token']}", "Content-Type": "application/json"}
    n = WARMUP + args.requests
    try:
        server.wait("/healthz", {})
        return {
            "create": timed(
                port,
                [
                    [("POST", "/api/v1/tickets", api, ticket_json(i, "subject", {}), 201)]
                    for i in range(n)
                ],
            ),
            "list": timed(port, [[("GET", "/desk/queue/all/", desk, None, 200)]] * n),
            "search": timed(
                port,
                [
                    [("GET", f"/desk/queue/all/?status=any&q={_q(i)}", desk, None, 200)]
                    for i in range(n)
                ],
            ),
        }
    finally:
        server.stop()


def _q(i: int) -> str:
    from urllib.parse import quote

    return quote(SEARCHES[i % len(SEARCHES)])


def measure_peer(args, env: dict, setup: dict, workdir: Path) -> dict:
    port = free_port()
    command = [
        str(VENV / "bin" / "gunicorn"),
        "peer_wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--worker-class",
        WORKER_CLASS,
        "--preload",
    ]
    server = Server(command, env, PROJECT, workdir / "peer.log", port)
    staff = {"Cookie": f"sessionid={setup['session']}"}
    basic = base64.b64encode(f"bench:{PEER_PASSWORD}".encode()).decode()
    api = {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}
    create = {"queue": setup["queue"], "submitter_email": "li.wang@client.test", "priority": 3}
    n = WARMUP + args.requests
    try:
        server.wait("/tickets/", staff)

        def with_data(path: str) -> list:
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            conn.request("GET", path, headers=staff)
            page = conn.getresponse().read().decode()
            conn.close()
            query = re.search(r"datatables_ticket_list/([A-Za-z0-9+/=]+)", page).group(1)
            data = f"/datatables_ticket_list/{query}?draw=1&start=0&length=25"
            return [("GET", path, staff, None, 200), ("GET", data, staff, None, 200)]

        searches = [with_data(f"/tickets/?q={_q(i)}") for i in range(len(SEARCHES))]
        result = {
            "create": timed(
                port,
                [
                    [("POST", "/api/tickets/", api, ticket_json(i, "title", create), 201)]
                    for i in range(n)
                ],
            ),
            "list": timed(port, [with_data("/tickets/")] * n),
            "search": timed(port, [searches[i % len(searches)] for i in range(n)]),
        }
        return result
    finally:
        server.stop()


def summarise(args, fl: dict, peer: dict) -> tuple[dict, list[str]]:
    row = {"database": "postgresql" if args.postgres else "sqlite", "tickets": args.tickets}
    notes = []
    for key, label in OPERATIONS:
        ours, theirs = latency_figures(fl[key]), latency_figures(peer[key])
        row[f"{key}_firstline_ms"] = ours["median_ms"]
        row[f"{key}_peer_ms"] = theirs["median_ms"]
        row[f"{key}_ratio"] = round(theirs["median_ms"] / ours["median_ms"], 1)
        notes.append(
            f"{label}: p95 Firstline {ours['p95_ms']} ms, django-helpdesk {theirs['p95_ms']} ms"
        )
    return row, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per operation")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("peer: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-peer-"))
    try:
        version = install_peer()
        write_project()
        export = workdir / "export.jsonl"
        fl_env, fl_setup, how = prepare_firstline(args, workdir, export)
        peer_env_, peer_setup, load_s = prepare_peer(args, workdir, export)
        fl = measure_firstline(args, fl_env, fl_setup, workdir)
        peer = measure_peer(args, peer_env_, peer_setup, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(PG_FIRSTLINE, drop_only=True)
            recreate_pg_database(PG_PEER, drop_only=True)
    row, notes = summarise(args, fl, peer)
    notes = [
        f"django-helpdesk {version} from PyPI in bench/peer/venv; {args.tickets:,} tickets "
        f"with their conversations bulk-loaded in {load_s:.0f} s; Firstline data: {how}",
        *notes,
        f"SQL queries of one staff list: Firstline {fl_setup['list_queries']}, "
        f"django-helpdesk {peer_setup['list_queries']} (page and data request)",
        "ratio: django-helpdesk's median / Firstline's (above 1: Firstline is faster)",
    ]
    print(format_table(COLUMNS, [row]))
    for note in notes:
        print(f"- {note}")
    emit_result(
        {
            "benchmark": "peer",
            **row,
            "columns": [list(c) for c in COLUMNS],
            "server": f"gunicorn {WORKER_CLASS}, {WORKERS} workers x {THREADS} thread, for both"
            " (Firstline through `firstline serve`)",
            "client": f"one http.client connection, {args.requests} timed requests per "
            f"operation after {WARMUP} warm-ups",
            "notes": notes,
        }
    )


if __name__ == "__main__":
    main()
