"""The supervisors' counts page (`/desk/counts/`: unresolved tickets per group by status and
by age), benchmark #6 until a dashboard exists, on a seeded desk.

The database holds `firstline bench_seed --tickets N` with its search index (default
1,000,000; about 100,000 unresolved), shared with queue_page.py and others through
common.seeded_database. A supervisor (who
sees every ticket: the most work) loads the page --requests times from one http.client
connection against `firstline serve`; a second series loads it from --clients supervisors
at once. Also timed in-process: the selector alone (`desk.selectors.ticket_counts`), and
the SQL queries of one page. Target: p95 <= 150 ms.

Usage: .venv/bin/python bench/dashboard.py [--postgres] [--tickets N] [--requests 50]
                                            [--clients 4]
"""

import argparse
import http.client
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import (
    FIRSTLINE,
    PYTHON,
    ROOT,
    bench_env,
    emit_result,
    format_table,
    free_port,
    latency_figures,
    recreate_pg_database,
    seeded_database,
    stop_process,
    wait_healthy,
)
from queue_page import HOST, start_server

PG_DATABASE = "firstline_bench_dashboard"
TARGET_P95_MS = 150.0
PAGE = "/desk/counts/"
COLUMNS = [
    ("database", "database"),
    ("tickets", "tickets"),
    ("unresolved", "unresolved"),
    ("selector_ms", "selector ms (median)"),
    ("median_ms", "page p50 ms"),
    ("p95_ms", "page p95 ms (≤150)"),
    ("concurrent_p95_ms", "p95 ms, concurrent"),
    ("queries", "SQL queries"),
]

SETUP = r"""
import json, statistics, sys, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from firstline.accounts.models import User
from firstline.core import clock
from firstline.desk import selectors

clients = int(sys.argv[1])
supervisors = list(User.objects.filter(role="supervisor", is_active=True).order_by("pk"))
sessions = []
for i in range(clients):
    client = Client()
    client.force_login(supervisors[i % len(supervisors)])
    sessions.append(client.cookies["sessionid"].value)
selector = []
for _ in range(12):
    began = time.perf_counter()
    rows = selectors.ticket_counts(supervisors[0], clock.now())
    selector.append(time.perf_counter() - began)
client = Client()
client.force_login(supervisors[0])
client.get("/desk/counts/")
with CaptureQueriesContext(connection) as captured:
    assert client.get("/desk/counts/").status_code == 200
page_queries = captured.captured_queries  # read now: the next requests clear Django's log
sys.path.insert(0, "bench")
import profiling
profile = profiling.summary(profiling.profile_calls(lambda: client.get("/desk/counts/"), 10))
print("SETUP " + json.dumps({
    "profile": profile,
    "sessions": sessions,
    "selector_ms": round(statistics.median(selector[2:]) * 1000, 2),
    "unresolved": sum(r.total for r in rows),
    "queries": len(page_queries),
    "slowest": max((float(q["time"]) * 1000, q["sql"][:200]) for q in page_queries),
}))
"""


def setup(env: dict, clients: int) -> dict:
    env = dict(env, ALLOWED_HOSTS="127.0.0.1,testserver")
    done = subprocess.run(
        [PYTHON, "-c", SETUP, str(clients)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in done.stdout.splitlines():
        if line.startswith("SETUP "):
            return json.loads(line[len("SETUP ") :])
    raise RuntimeError(f"setup failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr}")


def load(port: int, session: str, count: int, errors: list, times: list) -> None:
    """`count` timed GETs of the page (after two warm-ups) on one http.client connection
    (opened again when the server closes it)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    for i in range(count + 2):
        began = time.perf_counter()
        conn.request("GET", PAGE, headers={"Cookie": f"sessionid={session}"})
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - began
        if response.status != 200:
            errors.append(f"HTTP {response.status}")
        elif i >= 2:
            times.append(elapsed)
    conn.close()


def measure(args, workdir: Path) -> dict:
    name = PG_DATABASE if args.postgres else "bench"
    url, how = seeded_database(
        name, postgres=args.postgres, tickets=args.tickets, workdir=workdir, search_index=True
    )
    print(f"database: {how}", flush=True)
    env = bench_env(workdir, url)
    collect = [FIRSTLINE, "collectstatic", "--no-input", "-v", "0"]
    subprocess.run(collect, env=env, cwd=ROOT, check=True, timeout=300)
    prepared = setup(env, max(1, args.clients))
    port, log = free_port(), workdir / "server.log"
    server = start_server(env, port, log)
    errors: list[str] = []
    sequential: list[float] = []
    concurrent: list[float] = []
    try:
        wait_healthy(server, HOST, port, log, timeout=120)
        load(port, prepared["sessions"][0], args.requests, errors, sequential)
        threads = [
            threading.Thread(
                target=load, args=(port, s, max(1, args.requests // 2), errors, concurrent)
            )
            for s in prepared["sessions"]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop_process(server)
    return {
        "how": how,
        "prepared": prepared,
        "errors": errors,
        "seq": sequential,
        "con": concurrent,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4, help="supervisors at once (4)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("dashboard: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-dashboard-"))
    try:
        measured = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(PG_DATABASE, drop_only=True)
    prepared = measured["prepared"]
    row = {
        "database": "postgresql" if args.postgres else "sqlite",
        "tickets": args.tickets,
        "unresolved": prepared["unresolved"],
        "selector_ms": prepared["selector_ms"],
        **latency_figures(measured["seq"]),
        "concurrent_p95_ms": latency_figures(measured["con"])["p95_ms"],
        "queries": prepared["queries"],
    }
    row.pop("p99_ms")
    met = row["p95_ms"] <= TARGET_P95_MS
    notes = [
        f"data: {measured['how']}",
        f"{len(measured['seq'])} sequential pages by one supervisor, then {args.clients} "
        f"supervisors at once ({len(measured['con'])} pages, median "
        f"{statistics.median(measured['con']) * 1000:.1f} ms)",
        f"slowest query of the page: {prepared['slowest'][0]:.1f} ms {prepared['slowest'][1]}",
        f"target p95 <= {TARGET_P95_MS:.0f} ms: " + ("met" if met else "MISSED"),
        *(f"profile of 10 pages (in-process), {line}" for line in prepared["profile"]),
    ]
    notes += [f"error: {e}" for e in measured["errors"][:5]]
    print(format_table(COLUMNS, [row]))
    for note in notes:
        print(f"- {note}")
    emit_result(
        {
            "benchmark": "dashboard",
            **row,
            "columns": [list(c) for c in COLUMNS],
            "server": "firstline serve (gunicorn, its default processes, a request at a time each),"
            " DEBUG off",
            "client": "one http.client connection per supervisor (opened again when closed)",
            "notes": notes,
        }
    )
    if measured["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
