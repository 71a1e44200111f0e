"""Time per `POST /api/v1/tickets` as a real HTTP client sees it, on a throwaway database.

Usage: .venv/bin/python bench/api_create.py [--requests N] [--postgres]
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    FIRSTLINE,
    PG_MAINTENANCE_URL,
    PYTHON,
    ROOT,
    emit_result,
    format_table,
    free_port,
    latency_figures,
)

HOST = "127.0.0.1"
PG_DATABASE = "firstline_bench"
PG_URL = f"postgres://postgres@{HOST}:5432/{PG_DATABASE}"
WARMUP = 20
STARTUP_TIMEOUT = 30.0
SERVER = "Django runserver --noreload --nothreading (single process, one request at a time)"
CLIENT = (
    f"sequential POSTs from one http.client connection to {HOST} after {WARMUP} uncounted"
    " warm-ups; runserver --nothreading answers `Connection: close`, so each request opens"
    " a new TCP connection"
)

SETUP = """
import django
django.setup()
from firstline.accounts.models import Role
from firstline.accounts.services import (
    create_api_token, create_group, create_organization, create_user,
)
org = create_organization(actor=None, slug="acme", name="Acme Trading Ltd")
agent = create_user(actor=None, username="bench-agent", email="agent@acme.test", role=Role.AGENT)
create_group(actor=None, slug="service-desk", name="Service desk", members=[agent],
             organizations=[org])
requester = create_user(actor=None, username="bench-requester", email="wang.li@acme.test",
                        organization=org, first_name="Li", last_name="Wang")
print("TOKEN", create_api_token(user=requester, name="bench")[1])
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


def child_env(data_dir: Path, postgres: bool) -> dict:
    env = dict(os.environ, FIRSTLINE_DATA_DIR=str(data_dir), DEBUG="false")
    env.update(SECRET_KEY="bench-only-secret-key-" + "x" * 40, ALLOWED_HOSTS=HOST)
    env["DJANGO_SETTINGS_MODULE"] = "firstline.settings"
    env.pop("DATABASE_URL", None)
    if postgres:
        env["DATABASE_URL"] = PG_URL
    return env


def recreate_pg_database(drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {PG_DATABASE}")


def prepare_database(env: dict) -> str:
    """Migrates and creates the organization, requester, group and token; returns the token."""
    subprocess.run(
        [FIRSTLINE, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300
    )
    out = subprocess.run(
        [PYTHON, "-c", SETUP], env=env, cwd=ROOT, check=True, timeout=120, capture_output=True
    ).stdout.decode()
    tokens = [line.split()[1] for line in out.splitlines() if line.startswith("TOKEN ")]
    if not tokens:
        raise RuntimeError(f"Setup printed no token:\n{out}")
    return tokens[-1]


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [FIRSTLINE, "runserver", "--noreload", "--nothreading", f"{HOST}:{port}"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(server: subprocess.Popen, port: int, log: Path) -> None:
    """Polls /healthz until 200, the server dies, or STARTUP_TIMEOUT passes."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"Server exited with {server.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"No 200 from /healthz within {STARTUP_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}"
    )


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def post_tickets(port: int, token: str, count: int, start: int = 0) -> tuple[list[float], int]:
    """Sequential POSTs on one http.client connection; returns the latencies and TCP connects."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    latencies, connects = [], 0
    try:
        for i in range(start, start + count):
            body = ticket_body(i)
            connects += conn.sock is None  # http.client reconnects after `Connection: close`
            began = time.perf_counter()
            conn.request("POST", "/api/v1/tickets", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 201:
                raise RuntimeError(f"Request {i}: HTTP {response.status}: {payload[:500]!r}")
    finally:
        conn.close()
    return latencies, connects


def measure(postgres: bool, requests: int, workdir: Path) -> dict:
    env = child_env(workdir, postgres)
    if postgres:
        recreate_pg_database()
    token = prepare_database(env)
    port, log = free_port(), workdir / "server.log"
    server = start_server(env, port, log)
    try:
        wait_healthy(server, port, log)
        post_tickets(port, token, WARMUP)
        began = time.perf_counter()
        latencies, connects = post_tickets(port, token, requests, start=WARMUP)
        elapsed = time.perf_counter() - began
    finally:
        stop_server(server)
    return {
        "benchmark": "api_create",
        "database": "postgresql" if postgres else "sqlite",
        "server": SERVER,
        "client": CLIENT,
        "requests": requests,
        **latency_figures(latencies),
        "tickets_per_s": round(requests / elapsed, 1),
        "tcp_connects": connects,
    }


COLUMNS = [
    ("database", "database"),
    ("requests", "requests"),
    ("median_ms", "median ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("tickets_per_s", "tickets/s (sequential)"),
]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="measured requests (500)")
    parser.add_argument("--postgres", action="store_true", help=f"use {PG_URL}")
    args = parser.parse_args(argv)
    if args.requests < 2:
        parser.error("--requests must be at least 2")
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-"))
    try:
        result = measure(args.postgres, args.requests, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(drop_only=True)
    print(f"POST /api/v1/tickets, server: {result['server']}")
    print(f"{result['tcp_connects']} TCP connects for {args.requests} requests")
    print(format_table(COLUMNS, [result]))
    emit_result(result)
    return result


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        sys.exit(f"api_create failed: {exc}")
