"""Small helpers shared by the benchmark scripts and bench/run.py."""

import json
import socket
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
FIRSTLINE = str(BIN / "firstline")
PG_MAINTENANCE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULT_PREFIX = "RESULT "


def postgres_available() -> bool:
    """Whether the local PostgreSQL accepts us, so its benchmarks can run."""
    import psycopg

    try:
        with psycopg.connect(PG_MAINTENANCE_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latency_figures(seconds: list[float]) -> dict:
    """Median and tail latencies in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


def format_table(columns: list[tuple[str, str]], rows: list[dict], markdown=False) -> str:
    """`columns` are (key, heading) pairs; plain text for the console, or a markdown table."""
    cells = [[h for _, h in columns]] + [[str(r.get(k, "")) for k, _ in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|" + "|".join("---" for _ in columns) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def emit_result(result: dict) -> None:
    """The last line a benchmark prints: what run.py collects."""
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)


def parse_result(output: str) -> dict | None:
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None


# --- Child processes and throwaway databases (used by email_ingest.py) ------------------------


def recreate_pg_database(name: str, drop_only: bool = False) -> None:
    """Drops the PostgreSQL database `name` (ending its sessions) and creates it empty again."""
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def wait_healthy(server, host: str, port: int, log: Path, timeout: float = 30.0) -> None:
    """Polls GET /healthz until 200, the server process dies, or `timeout` seconds pass."""
    import http.client
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Server exited with {server.returncode}:\n{tail(log)}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"No 200 from /healthz within {timeout:.0f}s:\n{tail(log)}")


def stop_process(process, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(log: Path, size: int = 3000) -> str:
    """The end of a log file, for error messages."""
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return f"({log} unreadable)"


def die_with_parent() -> None:
    """For Popen(preexec_fn=...): on Linux the child gets SIGTERM when the benchmark dies
    without cleaning up (SIGKILL), so no server or worker outlives it. Elsewhere a no-op."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
