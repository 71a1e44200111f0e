"""Ticket creation through the API under load: sustained tickets/s and latency percentiles.

16 concurrent clients POST /api/v1/tickets (bearer tokens, one requester each) to
`firstline serve` (gunicorn, several worker processes) on a copy of the seeded data set
(`firstline bench_seed --tickets N` with its search index and N/50 articles, 1,000,000 tickets
unless --tickets says otherwise; 0: an empty database), with a business-hours SLA policy
tried first that applies to every ticket. Measured in the same run, as references:
- a minimal django-ninja endpoint doing one INSERT (bench/minimal_app), served the same way
  and loaded by the same clients: the cost of Django, django-ninja, gunicorn and the client;
- with --postgres, pgbench's single-row INSERTs at 16 clients: what the database can take.

Usage: .venv/bin/python bench/api_create.py [--postgres] [--seconds S] [--clients N]
       [--workers W] [--threads T] [--tickets N]
"""

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import (
    FIRSTLINE,
    PG_MAINTENANCE_URL,
    PYTHON,
    ROOT,
    cpu_spent,
    die_with_parent,
    emit_result,
    format_table,
    free_port,
    latency_figures,
    machine_busy,
    pg_backend_cpu,
    recreate_pg_database,
    seeded_database,
    stop_process,
    tail,
    tree_cpu,
    wait_healthy,
)
from firstline.core.management.commands.serve import worker_class

HOST = "127.0.0.1"
PG_DATABASE = "firstline_bench_api"
PG_URL = f"postgres://postgres@{HOST}:5432/{PG_DATABASE}"
BENCH = Path(__file__).resolve().parent
TARGET_PER_S = 500
TARGET_P95_MS = 40
WARMUP_S = 3.0

SETUP = """
import django
django.setup()
from firstline.accounts.models import Role
from firstline.accounts.services import (
    create_api_token, create_group, create_organization, create_user,
)
from firstline.sla.models import Policy
from firstline.sla.services import TargetMinutes, create_calendar, create_policy, move_policy
from firstline.tickets.models import Priority

org = create_organization(actor=None, slug="acme", name="Acme Trading Ltd")
agents = [
    create_user(actor=None, username=f"bench-agent-{i}", email=f"agent{i}@acme.test",
                role=Role.AGENT)
    for i in range(3)
]
create_group(actor=None, slug="service-desk", name="Service desk", members=agents,
             organizations=[org])
calendar = create_calendar(actor=None, name="Shanghai office", time_zone="Asia/Shanghai",
                           hours={day: "09:00-12:00, 13:00-18:00" for day in range(5)})
policy = create_policy(actor=None, name="Standard", calendar=calendar, targets={
    Priority.LOW: TargetMinutes(240, 480, 2400),
    Priority.NORMAL: TargetMinutes(60, 120, 480),
    Priority.HIGH: TargetMinutes(30, 60, 240),
    Priority.URGENT: TargetMinutes(15, 30, 120),
})
while Policy.objects.order_by("position", "pk").first() != policy:  # before a seeded one
    move_policy(actor=None, policy=policy, up=True)
for i in range(%(clients)d):
    requester = create_user(actor=None, username=f"bench-requester-{i}",
                            email=f"user{i}@acme.test", organization=org,
                            first_name="Li", last_name=f"Wang {i}")
    print("TOKEN", create_api_token(user=requester, name="bench")[1])
"""

# Where one creation's time goes: 50 requests in-process, under cProfile (bench/profiling.py).
PROFILE = """
import sys
import django
django.setup()
from django.test import Client
sys.path.insert(0, "bench")
import profiling
from api_create import ticket_body
client = Client(HTTP_AUTHORIZATION="Bearer " + sys.argv[1])
bodies = iter(range(10**6, 2 * 10**6))
post = lambda: client.post("/api/v1/tickets", ticket_body(next(bodies)), "application/json")
assert post().status_code == 201
for line in profiling.summary(profiling.profile_calls(post, 50)):
    print("PROFILE", line)
"""

SUBJECTS = [
    "Cannot log in to VPN from home",
    "Outlook keeps asking for my password",
    "Printer on 3rd floor shows paper jam",
    "Request: new laptop for incoming hire",
    "Shared drive S: not mapped after reboot",
    "Teams calls drop after five minutes",
    "打印机无法连接",
    "无法登录企业邮箱",
    "请为新同事开通ERP账号",
    "会议室投影仪没有信号",
    "Password reset for the finance portal",
    "Wi-Fi in building B is very slow",
]
DESCRIPTIONS = [
    "Since this morning it fails with an error. I restarted twice. Please help.",
    "It worked yesterday. Screenshot available on request.",
    "从今天早上开始就出现这个问题，重启后依然存在，麻烦尽快处理，谢谢！",
]
PRIORITIES = ["low", "normal", "normal", "high", "urgent"]


def ticket_body(i: int) -> bytes:
    """A varied, realistic ticket, so no two requests are byte-identical."""
    return json.dumps(
        {
            "subject": f"{SUBJECTS[i % len(SUBJECTS)]} (#{i})",
            "description": DESCRIPTIONS[i % len(DESCRIPTIONS)],
            "priority": PRIORITIES[i % len(PRIORITIES)],
        },
        ensure_ascii=False,
    ).encode()


def child_env(data_dir: Path, database_url: str) -> dict:
    env = dict(os.environ, FIRSTLINE_DATA_DIR=str(data_dir), DEBUG="false")
    env.update(SECRET_KEY="bench-only-secret-key-" + "x" * 40, ALLOWED_HOSTS=HOST)
    env["DJANGO_SETTINGS_MODULE"] = "firstline.settings"
    for name in ("TASKS_BACKEND", "TASKS_BACKEND_CLASS", "CACHE_URL"):
        env.pop(name, None)
    env["DATABASE_URL"] = database_url
    return env


def prepare_database(args, workdir: Path) -> tuple[str, str]:
    """The database the server writes to, and how it was made."""
    if args.tickets:
        return seeded_database(
            PG_DATABASE, postgres=args.postgres, tickets=args.tickets, workdir=workdir,
            search_index=True,
        )  # fmt: skip
    if args.postgres:
        recreate_pg_database(PG_DATABASE)
        return PG_URL, "empty"
    return f"sqlite:///{workdir / 'firstline.sqlite3'}", "empty"


def run(cmd: list[str], env: dict, timeout: int = 300) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare_firstline(env: dict, clients: int) -> list[str]:
    """Migrates, collects static files, creates the desk and a token per client."""
    run([FIRSTLINE, "migrate", "--no-input", "-v", "0"], env)
    run([FIRSTLINE, "collectstatic", "--no-input", "-v", "0"], env)
    out = run([PYTHON, "-c", SETUP % {"clients": clients}], env, timeout=120)
    tokens = [line.split()[1] for line in out.splitlines() if line.startswith("TOKEN ")]
    if len(tokens) != clients:
        raise RuntimeError(f"Setup printed {len(tokens)} tokens:\n{out}")
    return tokens


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip


class CpuMeter:
    """CPU seconds of the server (all its processes), PostgreSQL's processes serving the
    database, this process (the clients) and the whole machine, between two readings."""

    def __init__(self, server_pid: int, database: str | None):
        self.server_pid, self.database, self.conn = server_pid, database, None
        if database:
            import psycopg

            url = PG_MAINTENANCE_URL.rsplit("/", 1)[0] + "/" + database
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=5)

    def read(self) -> dict:
        return {
            "server": tree_cpu(self.server_pid),
            "postgres": pg_backend_cpu(self.conn, self.database) if self.conn else {},
            "clients": time.process_time(),
            "machine": machine_busy(),
        }

    @staticmethod
    def per_request_ms(before: dict, after: dict, requests: int) -> dict[str, float]:
        spent = {k: after[k] - before[k] for k in ("server", "clients", "machine")}
        spent["postgres"] = cpu_spent(before["postgres"], after["postgres"])
        return {k: round(1000 * v / requests, 2) for k, v in spent.items()}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class Load:
    """`clients` threads, each on its own connection (kept alive while the server keeps it,
    opened again when it closes it), POSTing as fast as answers come for `seconds`, after
    WARMUP_S uncounted seconds. Latency is from sending the request to reading the whole
    answer (a new connection's set-up included); CPU time is read when the counted seconds
    begin and end."""

    def __init__(self, port: int, path: str, headers: list[dict], expected: int, meter):
        self.port, self.path, self.headers, self.expected = port, path, headers, expected
        self.meter = meter
        self.numbers = itertools.count()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.connects = 0
        self.lock = threading.Lock()

    def run(self, seconds: float) -> dict:
        began = time.monotonic()
        self.measure_from = began + WARMUP_S
        self.stop_at = self.measure_from + seconds
        threads = [
            threading.Thread(target=self._client, args=(h,), daemon=True) for h in self.headers
        ]
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, self.measure_from - time.monotonic()))
        cpu_before = self.meter.read()
        time.sleep(max(0.0, self.stop_at - time.monotonic()))
        cpu_after = self.meter.read()
        for thread in threads:
            thread.join(timeout=seconds + WARMUP_S + 60)
        if self.failures:
            raise RuntimeError(f"{len(self.failures)} failed requests, first: {self.failures[0]}")
        if len(self.latencies) < 2:
            raise RuntimeError("fewer than 2 requests were answered")
        return {
            "requests": len(self.latencies),
            "per_s": round(len(self.latencies) / seconds, 1),
            **latency_figures(self.latencies),
            "tcp_connects": self.connects,
            "cpu_ms": CpuMeter.per_request_ms(cpu_before, cpu_after, len(self.latencies)),
        }

    def _client(self, headers: dict) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        mine = []
        try:
            while (now := time.monotonic()) < self.stop_at:
                body = ticket_body(next(self.numbers))
                if conn.sock is None:
                    with self.lock:
                        self.connects += 1
                began = time.perf_counter()
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - began
                if response.status != self.expected:
                    self.failures.append(f"HTTP {response.status}: {payload[:300]!r}")
                    return
                if now >= self.measure_from and time.monotonic() <= self.stop_at:
                    mine.append(elapsed)
        except OSError as exc:
            self.failures.append(repr(exc))
        finally:
            conn.close()
            with self.lock:
                self.latencies.extend(mine)


def serve_and_load(cmd, env, port, log, path, headers, expected, seconds, database) -> dict:
    """`database`: the PostgreSQL database whose processes' CPU time counts (None: SQLite)."""
    server = start(cmd, env, log)
    meter = None
    try:
        wait_healthy_or_port(server, port, log)
        meter = CpuMeter(server.pid, database)
        return Load(port, path, headers, expected, meter).run(seconds)
    finally:
        if meter is not None:
            meter.close()
        stop_process(server)


def wait_healthy_or_port(server, port: int, log: Path) -> None:
    """Firstline answers /healthz; the minimal app only has to accept connections."""
    if "minimal" in log.name:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"Server exited with {server.returncode}:\n{tail(log)}")
            try:
                http.client.HTTPConnection(HOST, port, timeout=2).connect()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"The minimal app did not listen within 30s:\n{tail(log)}")
    wait_healthy(server, HOST, port, log)


def measure_firstline(args, workdir: Path, database_url: str) -> dict:
    env = child_env(workdir, database_url)
    tokens = prepare_firstline(env, args.clients)
    port = free_port()
    cmd = [FIRSTLINE, "serve", "--port", str(port), "--workers", str(args.workers),
           "--threads", str(args.threads), "--no-collectstatic"]  # fmt: skip
    headers = [{"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in tokens]
    database = PG_DATABASE if args.postgres else None
    measured = serve_and_load(
        cmd, env, port, workdir / "firstline.log", "/api/v1/tickets", headers, 201, args.seconds,
        database,
    )  # fmt: skip
    profile = run([PYTHON, "-c", PROFILE, tokens[0]], dict(env, ALLOWED_HOSTS="testserver"))
    measured["profile"] = [line[8:] for line in profile.splitlines() if line.startswith("PROFILE ")]
    return measured


def measure_minimal_app(args, workdir: Path) -> dict:
    """The same server settings, clients and bodies against bench/minimal_app."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="minimal_app.settings", PYTHONPATH=str(BENCH))
    if args.postgres:
        recreate_pg_database(PG_DATABASE + "_minimal")
        env["DATABASE_URL"] = PG_URL + "_minimal"
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'minimal.sqlite3'}"
    run([PYTHON, "-m", "django", "migrate", "--run-syncdb", "-v", "0"], env)
    port = free_port()
    cmd = [str(Path(PYTHON).parent / "gunicorn"), "minimal_app.wsgi:application",
           "--bind", f"{HOST}:{port}", "--worker-class", worker_class(args.threads),
           "--workers", str(args.workers), "--threads", str(args.threads),
           "--preload", "--keep-alive", "5"]  # fmt: skip
    headers = [{"Content-Type": "application/json"}] * args.clients
    try:
        database = PG_DATABASE + "_minimal" if args.postgres else None
        return serve_and_load(
            cmd, env, port, workdir / "minimal.log", "/api/rows", headers, 201, args.seconds,
            database,
        )  # fmt: skip
    finally:
        if args.postgres:
            recreate_pg_database(PG_DATABASE + "_minimal", drop_only=True)


def measure_pgbench(clients: int, seconds: float) -> float | None:
    """Single-row INSERTs per second, each its own transaction, `clients` connections."""
    pgbench = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if pgbench is None:
        return None
    import psycopg

    name = PG_DATABASE + "_pgbench"
    recreate_pg_database(name)
    try:
        with psycopg.connect(PG_MAINTENANCE_URL.rsplit("/", 1)[0] + "/" + name) as conn:
            conn.execute(
                "CREATE TABLE reference_row (id bigserial PRIMARY KEY, payload text NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write("INSERT INTO reference_row (payload) VALUES ('one reference row');\n")
        cmd = [str(pgbench), "-n", "-h", HOST, "-U", "postgres", "-c", str(clients),
               "-j", "2", "-T", str(max(1, round(seconds))), "-f", script.name, name]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
        os.unlink(script.name)
        found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        return round(float(found[1]), 1) if found else None
    finally:
        recreate_pg_database(name, drop_only=True)


def measure(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-"))
    try:
        database_url, made = prepare_database(args, workdir)
        firstline = measure_firstline(args, workdir, database_url)
        firstline["database_made"] = made
        minimal = measure_minimal_app(args, workdir)
        pgbench = measure_pgbench(args.clients, args.seconds) if args.postgres else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(PG_DATABASE, drop_only=True)
    return result_of(args, firstline, minimal, pgbench)


def _cpu_note(what: str, cpu_ms: dict[str, float]) -> str:
    """Where the CPU time of one request went, and the rate the machine's CPUs allow at it."""
    cpus = os.cpu_count() or 1
    ceiling = f"{cpus * 1000 / cpu_ms['machine']:.0f}/s" if cpu_ms["machine"] else "?"
    return (
        f"CPU time per {what} while counted: server {cpu_ms['server']} ms, PostgreSQL"
        f" {cpu_ms['postgres']} ms, clients {cpu_ms['clients']} ms, whole machine"
        f" {cpu_ms['machine']} ms: {cpus} CPUs allow at most {ceiling} at that cost"
    )


def result_of(args, firstline: dict, minimal: dict, pgbench: float | None) -> dict:
    met = firstline["per_s"] >= TARGET_PER_S and firstline["p95_ms"] <= TARGET_P95_MS
    notes = [
        f"target: at least {TARGET_PER_S} tickets/s with p95 at most {TARGET_P95_MS} ms:"
        f" {'met' if met else 'NOT met'}",
        f"minimal django-ninja endpoint (one INSERT, same server and clients):"
        f" {minimal['per_s']}/s, p95 {minimal['p95_ms']} ms",
        f"the clients run on the same {os.cpu_count()} CPUs as the server and the database",
        f"machine load average (1 min) at the end: {os.getloadavg()[0]:.1f}",
    ]
    if pgbench is not None:
        notes.insert(2, f"pgbench single-row INSERTs at {args.clients} clients: {pgbench}/s")
    for what, measured in (("ticket", firstline), ("minimal endpoint's request", minimal)):
        notes.append(_cpu_note(what, measured["cpu_ms"]))
    notes += [f"profile of 50 creations (in-process), {line}" for line in firstline["profile"]]
    return {
        "benchmark": "api_create",
        "database": "postgresql" if args.postgres else "sqlite",
        "server": f"firstline serve: gunicorn {worker_class(args.threads)}, {args.workers}"
        f" processes x {args.threads} thread{'s' if args.threads > 1 else ''}"
        + (", keep-alive" if args.threads > 1 else ", a connection per request"),
        "data": f"{args.tickets:,} seeded tickets with their search index"
        f" ({firstline['database_made']})"
        if args.tickets
        else "an empty database",
        "client": f"{args.clients} threads, one http.client connection each (kept alive while"
        " the server keeps it), POSTing"
        f" as fast as answers come for {args.seconds:g} s after {WARMUP_S:g} s of warm-up",
        "requests": firstline["requests"],
        "tickets_per_s": firstline["per_s"],
        "median_ms": firstline["median_ms"],
        "p95_ms": firstline["p95_ms"],
        "p99_ms": firstline["p99_ms"],
        "target_met": "yes" if met else "NO",
        "cpu_ms": firstline["cpu_ms"]["machine"],
        "minimal_per_s": minimal["per_s"],
        "minimal_p95_ms": minimal["p95_ms"],
        "pgbench_inserts_per_s": pgbench if pgbench is not None else "",
        "tcp_connects": firstline["tcp_connects"],
        "columns": COLUMNS,
        "notes": notes,
    }


COLUMNS = [
    ["database", "database"],
    ["requests", "requests"],
    ["tickets_per_s", "tickets/s"],
    ["median_ms", "median ms"],
    ["p95_ms", "p95 ms"],
    ["p99_ms", "p99 ms"],
    ["target_met", "target met"],
    ["cpu_ms", "CPU ms/ticket"],
    ["minimal_per_s", "minimal ninja INSERT/s"],
    ["minimal_p95_ms", "minimal p95 ms"],
    ["pgbench_inserts_per_s", "pgbench INSERT/s"],
]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help=f"use {PG_URL}")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds (15)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=4, help="server processes (4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per process (1: gunicorn's sync worker)"
    )
    parser.add_argument(
        "--tickets", type=int, default=1_000_000,
        help="seeded tickets already in the database (1000000; 0: an empty database)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    result = measure(args)
    print(f"POST /api/v1/tickets, server: {result['server']}")
    print(f"client: {result['client']}")
    print(f"data: {result['data']}")
    print(format_table([tuple(c) for c in COLUMNS], [result]))
    for note in result["notes"]:
        print(f"- {note}")
    emit_result(result)
    return result


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        sys.exit(f"api_create failed: {exc}")
