"""The agent queue page and the API ticket list with 20 agents at once, on a seeded desk.

The database holds `firstline bench_seed --tickets N` with its search index (default
1,000,000, of which about 50,000 open and 100,000 unresolved), shared with api_create.py,
email_ingest.py and dashboard.py; see common.seeded_database. Agents in 5 groups each
are logged in (a session for the desk, a bearer token for the API). Each of --clients
threads, one agent each, then loads its queues in turn, 50 rows sorted by SLA due time
(`/desk/queue/<mine|unassigned|group-x>/?sort=due`), and `GET /api/v1/tickets?status=open`
(50 rows), over one http.client connection (opened again when the server closes it),
against `firstline serve` (gunicorn), waiting --think seconds on average between two
requests as a person would (0: back to back, which measures throughput rather than what an
agent sees: 20 requests always in flight on 2 CPUs).

It prints p50/p95 per kind of page, the SQL queries of one request of each kind (counted
in-process with CaptureQueriesContext), and the peak RSS (VmHWM) of the server's largest
worker process after the load (benchmark #7). Targets: p95 <= 50 ms, <= 8 queries,
<= 250 MB.

Usage: .venv/bin/python bench/queue_page.py [--postgres] [--tickets N] [--clients 20]
                                             [--rounds 20]
"""

import argparse
import http.client
import json
import random
import shutil
import signal
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
    child_pids,
    die_with_parent,
    emit_result,
    format_table,
    free_port,
    latency_figures,
    peak_rss_mb,
    recreate_pg_database,
    seeded_database,
    stop_process,
    tail,
    wait_healthy,
)

HOST = "127.0.0.1"
PG_DATABASE = "firstline_bench_queue"
TARGETS = {"p95_ms": 50.0, "queries": 8, "rss_mb": 250.0}
WARMUP_ROUNDS = 2
COLUMNS = [
    ("database", "database"),
    ("tickets", "tickets"),
    ("desk_median_ms", "desk p50 ms"),
    ("desk_p95_ms", "desk p95 ms (≤50)"),
    ("desk_queries", "desk SQL queries (≤8)"),
    ("api_median_ms", "API list p50 ms"),
    ("api_p95_ms", "API list p95 ms (≤50)"),
    ("api_queries", "API SQL queries (≤8)"),
    ("per_s", "requests/s"),
    ("rss_mb", "worker peak RSS MB (≤250)"),
]

# Run in a child process against the benchmark database: logs agents in, counts queries.
SETUP = r"""
import json, sys
import django
django.setup()
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from firstline.accounts.models import User
from firstline.accounts.services import create_api_token

clients = int(sys.argv[1])
agents = list(
    User.objects.filter(role="agent", is_active=True)
    .annotate(n=Count("support_groups")).filter(n=5).order_by("pk")[:clients]
)
if len(agents) < clients:
    sys.exit(f"only {len(agents)} agents in 5 groups")
out = {"agents": [], "queries": {}, "profile": {}}
urls = {}
for agent in agents:
    client = Client()
    client.force_login(agent)
    groups = sorted(g.slug for g in agent.support_groups.all())
    _, token = create_api_token(user=agent, name="bench")
    out["agents"].append(
        {"session": client.cookies["sessionid"].value, "token": token, "groups": groups}
    )
agent = agents[0]
desk, api = Client(), Client(HTTP_AUTHORIZATION="Bearer " + out["agents"][0]["token"])
desk.force_login(agent)
for kind, client, url in [
    ("desk_mine", desk, "/desk/queue/mine/?sort=due"),
    ("desk_unassigned", desk, "/desk/queue/unassigned/?sort=due"),
    ("desk_group", desk, "/desk/queue/group-%s/?sort=due" % out["agents"][0]["groups"][0]),
    ("api_list", api, "/api/v1/tickets?status=open&limit=50"),
]:
    client.get(url)  # warm-up: connection, caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    out["queries"][kind] = {
        "count": len(captured.captured_queries),
        "slowest": sorted(
            ((float(q["time"]) * 1000, q["sql"][:160]) for q in captured.captured_queries),
            reverse=True,
        )[:3],
    }
    urls[kind.split("_")[0]] = (client, url)
# Where the time of one request goes: 10 of each, in-process, under cProfile.
sys.path.insert(0, "bench")
import profiling
for kind, (client, url) in urls.items():
    stats = profiling.profile_calls(lambda: client.get(url), 10)
    out["profile"][kind] = profiling.summary(stats)
print("SETUP " + json.dumps(out))
"""


class Load:
    """20 agents, each on its own http.client connection, timing every request."""

    def __init__(self, port: int, agents: list[dict], rounds: int, think: float):
        self.port, self.agents, self.rounds, self.think = port, agents, rounds, think
        self.times: dict[str, list[float]] = {"desk": [], "api": []}
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def urls(self, agent: dict) -> list[tuple[str, str, dict]]:
        desk = {"Cookie": f"sessionid={agent['session']}"}
        api = {"Authorization": f"Bearer {agent['token']}"}
        queues = ["mine", "unassigned", *(f"group-{slug}" for slug in agent["groups"])]
        pages = [("desk", f"/desk/queue/{q}/?sort=due", desk) for q in queues]
        return [
            item
            for page in pages
            for item in (page, ("api", "/api/v1/tickets?status=open&limit=50", api))
        ]

    def get(self, conn, url: str, headers: dict):
        """One GET; a keep-alive connection the server closed while the agent was thinking
        (gunicorn keeps idle ones 5 s) is opened again, as browsers do, and not timed."""
        for attempt in (1, 2):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                    conn.connect()
                began = time.perf_counter()
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
                return conn, response.status, time.perf_counter() - began
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def client(self, agent: dict) -> None:
        conn = None
        urls = self.urls(agent)
        pause = random.Random(agent["session"])
        for round_ in range(WARMUP_ROUNDS + self.rounds):
            for kind, url, headers in urls[round_ % 2 :: 2] if round_ < WARMUP_ROUNDS else urls:
                if self.think:
                    time.sleep(pause.expovariate(1 / self.think))
                try:
                    conn, status, elapsed = self.get(conn, url, headers)
                except (OSError, http.client.HTTPException) as exc:
                    conn = None
                    with self.lock:
                        self.errors.append(f"{url}: {exc!r}")
                    continue
                with self.lock:
                    if status != 200:
                        self.errors.append(f"{url}: HTTP {status}")
                    elif round_ >= WARMUP_ROUNDS:
                        self.times[kind].append(elapsed)
        if conn is not None:
            conn.close()

    def run(self) -> float:
        threads = [threading.Thread(target=self.client, args=(a,)) for a in self.agents]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began


def setup_agents(env: dict, clients: int) -> dict:
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


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    command = [FIRSTLINE, "serve", "--port", str(port), "--no-collectstatic"]
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


def measure(args, workdir: Path) -> dict:
    name = PG_DATABASE if args.postgres else "bench"
    url, how = seeded_database(
        name, postgres=args.postgres, tickets=args.tickets, workdir=workdir, search_index=True
    )
    print(f"database: {how}", flush=True)
    env = bench_env(workdir, url)
    collect = [FIRSTLINE, "collectstatic", "--no-input", "-v", "0"]
    subprocess.run(collect, env=env, cwd=ROOT, check=True, timeout=300)
    setup = setup_agents(env, args.clients)
    port, log = free_port(), workdir / "server.log"
    server = start_server(env, port, log)
    try:
        wait_healthy(server, HOST, port, log, timeout=120)
        load = Load(port, setup["agents"], args.rounds, args.think)
        elapsed = load.run()
        workers = child_pids(server.pid)
        rss = max((peak_rss_mb(pid) or 0 for pid in workers), default=None)
    finally:
        stop_process(server)
    if load.errors:
        print(tail(log), file=sys.stderr)
    return {
        "database": "postgresql" if args.postgres else "sqlite",
        "how": how,
        "setup": setup,
        "load": load,
        "elapsed": elapsed,
        "workers": len(workers),
        "rss_mb": rss,
    }


def summarise(args, measured: dict) -> tuple[dict, list[str]]:
    """The result row and its notes."""
    load, queries = measured["load"], measured["setup"]["queries"]
    row = {"database": measured["database"], "tickets": args.tickets}
    desk_kinds = ("desk_mine", "desk_unassigned", "desk_group")
    counts = {
        "desk": max(queries[k]["count"] for k in desk_kinds),
        "api": queries["api_list"]["count"],
    }
    missed = []
    for kind in ("desk", "api"):
        if load.times[kind]:
            figures = latency_figures(load.times[kind])
            row[f"{kind}_median_ms"], row[f"{kind}_p95_ms"] = (
                figures["median_ms"],
                figures["p95_ms"],
            )
            if figures["p95_ms"] > TARGETS["p95_ms"]:
                missed.append(f"{kind} p95 {figures['p95_ms']} ms > {TARGETS['p95_ms']}")
        row[f"{kind}_queries"] = counts[kind]
        if counts[kind] > TARGETS["queries"]:
            missed.append(f"{kind} {counts[kind]} queries > {TARGETS['queries']}")
    total = sum(len(t) for t in load.times.values())
    row["per_s"] = round(total / measured["elapsed"], 1)
    row["rss_mb"] = measured["rss_mb"]
    if measured["rss_mb"] and measured["rss_mb"] > TARGETS["rss_mb"]:
        missed.append(f"worker peak RSS {measured['rss_mb']} MB > {TARGETS['rss_mb']}")
    notes = [
        f"data: {measured['how']}",
        f"{args.clients} agents in 5 groups each, {len(load.times['desk'])} desk pages and "
        f"{len(load.times['api'])} API lists in {measured['elapsed']:.1f} s, "
        f"{len(load.errors)} errors",
        "queries per page: "
        + ", ".join(f"{k} {v['count']}" for k, v in queries.items())
        + " (one request each, in-process, after a warm-up)",
        "slowest queries of the unassigned queue: "
        + "; ".join(f"{ms:.1f} ms {sql}" for ms, sql in queries["desk_unassigned"]["slowest"]),
        f"peak RSS (VmHWM) of the largest of {measured['workers']} gunicorn workers after the "
        f"load: {measured['rss_mb']} MB",
        *(
            f"profile of 10 {kind} requests (in-process, the group queue for the desk), {line}"
            for kind, lines in measured["setup"]["profile"].items()
            for line in lines
        ),
        "targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)),
    ]
    notes += [f"error: {e}" for e in load.errors[:5]]
    return row, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20, help="concurrent agents (20)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over each agent's pages")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds an agent waits between two requests (1.0; 0: back to back)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("queue_page: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-queue-"))
    try:
        measured = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(PG_DATABASE, drop_only=True)
    row, notes = summarise(args, measured)
    print(format_table(COLUMNS, [row]))
    for note in notes:
        print(f"- {note}")
    errors = measured["load"].errors
    emit_result(
        {
            "benchmark": "queue_page",
            **row,
            "columns": [list(c) for c in COLUMNS],
            "server": f"firstline serve (gunicorn, its defaults: {measured['workers']} processes"
            " taking a request at a time), DEBUG off, production settings",
            "client": f"{args.clients} threads, one logged-in agent and one http.client connection"
            f" each, waiting {args.think} s on average (exponential) between requests",
            "notes": notes,
        }
    )
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
