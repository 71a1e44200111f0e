"""Small helpers shared by the benchmark scripts and bench/run.py."""

import json
import os
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


# --- Seeded databases (firstline bench_seed), kept between benchmarks -------------------------

SEED_CACHE = ROOT / "var" / "bench-cache"
# What the seeded data sets are made by: bench_seed, and the search index it rebuilds.
SEED_SOURCES = (
    "src/firstline/core/benchseed.py",
    "src/firstline/core/benchseed_texts.py",
    "src/firstline/search/services.py",
)


def bench_env(data_dir: Path, database_url: str, **extra: str) -> dict:
    """The environment of a benchmark's Firstline processes (production settings)."""
    import os

    env = dict(os.environ, FIRSTLINE_DATA_DIR=str(data_dir), DEBUG="false", LOG_LEVEL="WARNING")
    env.update(SECRET_KEY="bench-only-secret-key-" + "x" * 40, ALLOWED_HOSTS="127.0.0.1")
    env.update(DJANGO_SETTINGS_MODULE="firstline.settings", DATABASE_URL=database_url)
    env.update(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    env.update(extra)
    return env


def seed_fingerprint(tickets: int, search_index: bool) -> str:
    """Names one seeded data set: its size, whether it is indexed, and the seeder's code."""
    import hashlib

    digest = hashlib.sha256()
    for source in SEED_SOURCES:
        digest.update((ROOT / source).read_bytes())
    return f"{tickets}{'i' if search_index else ''}_{digest.hexdigest()[:10]}"


def seeded_database(
    name: str, *, postgres: bool, tickets: int, workdir: Path, search_index: bool = False
) -> tuple[str, str]:
    """A fresh database `name` (PostgreSQL) or file in `workdir` (SQLite) holding the data of
    `firstline bench_seed --tickets N`, migrated. The seeded data set is built once and kept
    (a template database, or a file under var/bench-cache/) for the next benchmark that
    wants the same; returns (DATABASE_URL, what was done: 'seeded in ... s' or 'reused')."""
    import shutil
    import time

    fingerprint = seed_fingerprint(tickets, search_index)
    began = time.perf_counter()
    if postgres:
        how = _seeded_pg_template(fingerprint, tickets, workdir, search_index)
        _copy_pg_database(f"firstline_bench_seed_{fingerprint}", name)
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        cached = SEED_CACHE / f"seed_{fingerprint}.sqlite3"
        how = "reused"
        if not cached.exists():
            size = fingerprint.split("_")[0]
            for stale in SEED_CACHE.glob(f"seed_{size}_*.sqlite3*"):  # an older seeder's data
                stale.unlink()
            how = _seed(f"sqlite:///{cached}.part", tickets, workdir, search_index)
            Path(f"{cached}.part").rename(cached)
            Path(f"{cached}.part-writers").unlink(missing_ok=True)  # core/sqlite's lock file
        target = workdir / "bench.sqlite3"
        shutil.copyfile(cached, target)
        url = f"sqlite:///{target}"
    _migrate(url, workdir)
    return url, f"{how}; ready in {time.perf_counter() - began:.0f} s"


def _seed(url: str, tickets: int, workdir: Path, search_index: bool) -> str:
    import subprocess
    import time

    SEED_CACHE.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    _migrate(url, workdir)
    command = [FIRSTLINE, "bench_seed", "--tickets", str(tickets), "--articles", "0"]
    if search_index:
        command[-1] = str(max(100, tickets // 50))
    else:
        command.append("--no-search-index")
    subprocess.run(command, env=bench_env(workdir, url), cwd=ROOT, check=True, timeout=3600)
    return f"seeded {tickets:,} tickets in {time.perf_counter() - began:.0f} s"


def _migrate(url: str, workdir: Path) -> None:
    import subprocess

    subprocess.run(
        [FIRSTLINE, "migrate", "--no-input", "-v", "0"],
        env=bench_env(workdir, url),
        cwd=ROOT,
        check=True,
        timeout=900,
    )


def _seeded_pg_template(fingerprint: str, tickets: int, workdir: Path, index: bool) -> str:
    """Builds the template database of this data set unless a complete one exists."""
    import psycopg

    from firstline.core.maintenance import filled_tables

    template = f"firstline_bench_seed_{fingerprint}"
    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True, connect_timeout=5) as conn:
        done = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [template],
        ).fetchone()
        if done and done[0] == "complete":
            return "reused"
        for (stale,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [f"firstline_bench_seed_{tickets}{'i' if index else ''}\\_%", template],
        ).fetchall():
            conn.execute(f'DROP DATABASE "{stale}" WITH (FORCE)')  # an older seeder's data
    recreate_pg_database(template)
    url = f"postgres://postgres@127.0.0.1:5432/{template}"
    how = _seed(url, tickets, workdir, index)
    # A desk that has been running for a while has been vacuumed by autovacuum: its
    # visibility map lets queues and counts read their index alone (index-only scans).
    # Not the tables the seed left empty: vacuumed, they would be "empty" to the planner
    # (see benchseed._analyze), whereas a desk's own are either never analysed or full.
    with psycopg.connect(url, autocommit=True) as conn:
        filled = filled_tables(conn.cursor())
        conn.execute(f"VACUUM (ANALYZE) {', '.join(filled)}")
    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{template}\" IS 'complete'")
    return how


def _copy_pg_database(template: str, name: str) -> None:
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (the peak resident set size) of a process, in MB; None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# --- CPU time (Linux /proc; elsewhere the figures are zero) ---

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds so far) of a live process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_pids(root: int) -> list[int]:
    """A process and its live descendants (gunicorn's worker processes)."""
    parents = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in parents or pid == root:
            found.append(pid)
            todo += [child for child, parent in parents.items() if parent == pid]
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its live descendants."""
    return sum(stat[1] for pid in tree_pids(root) if (stat := proc_stat(pid)) is not None)


def tree_waiting(root: int) -> float:
    """Seconds the threads of a process and its descendants were ready to run but waited for
    a CPU (/proc/<pid>/task/<tid>/schedstat): starved, as opposed to blocked or idle."""
    total = 0
    for pid in tree_pids(root):
        for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def machine_busy() -> float:
    """CPU seconds all processes of the machine spent so far (ours and anyone else's)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICKS


def pg_backend_cpu(conn, database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process serving `database`, but not `conn` (an
    autocommit psycopg connection of the caller's, which watches)."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    ).fetchall()
    return {pid: stat[1] for (pid,) in rows if (stat := proc_stat(pid)) is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings of several processes (pid: seconds): one that started
    in between counts from zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
