"""Runs every benchmark below, prints a table per benchmark and writes bench/RESULTS.md.

To add a benchmark: write bench/<script>.py that ends by printing `RESULT {json}`
(see common.emit_result) and append a (name, [script, args...]) entry to BENCHMARKS.
Entries whose args contain --postgres run only if PostgreSQL at 127.0.0.1:5432 answers.

Each benchmark gets its own table. A RESULT may say how: "columns" is a list of [key, heading]
pairs (default: its short values, headed as in COLUMNS), "notes" a list of sentences shown
under the table, and "server", "client" and "processing" describe what was measured.
A script that prints its RESULT and then exits non-zero (its own checks failed) keeps its
figures, marked with the error.

Each result is also kept in bench/results/ (one JSON file per entry, with the time it was
measured), and RESULTS.md is written from all kept results: `bench/run.py --only search,peer`
re-runs some benchmarks and keeps the others' last figures.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from common import PYTHON, ROOT, format_table, parse_result, postgres_available

BENCH = ROOT / "bench"
KEPT = BENCH / "results"
TIMEOUT = 1800  # seconds per benchmark
CLEANUP_TIMEOUT = 60  # seconds a timed-out benchmark gets to clean up after SIGTERM

BENCHMARKS = [
    # Into a copy of the 1,000,000 seeded tickets (see queue_page below).
    ("api_create", ["api_create.py"]),
    ("api_create", ["api_create.py", "--postgres"]),
    # 10,000 messages into the 1,000,000 seeded tickets (below), as the issue asks.
    ("email_ingest", ["email_ingest.py"]),
    ("email_ingest", ["email_ingest.py", "--postgres"]),
    # PostgreSQL only (1,000,000 tickets); SQLite by hand: bench/sla_sweep.py [--tickets N].
    ("sla_sweep", ["sla_sweep.py", "--postgres"]),
    # Builds its own 1,000,000 tickets (and 20,000 articles) with their search index.
    ("search", ["search.py", "--tickets", "1000000"]),
    ("search", ["search.py", "--tickets", "1000000", "--postgres"]),
    # 1,000,000 seeded tickets (firstline bench_seed), built once per database and kept under
    # var/bench-cache/ (SQLite) or as a template database (PostgreSQL) for the next ones.
    ("queue_page", ["queue_page.py"]),
    ("queue_page", ["queue_page.py", "--postgres"]),
    ("dashboard", ["dashboard.py"]),
    ("dashboard", ["dashboard.py", "--postgres"]),
    # django-helpdesk (latest from PyPI, in bench/peer/venv) and Firstline on 100,000 tickets.
    ("peer", ["peer.py"]),
    ("peer", ["peer.py", "--postgres"]),
]

# Shown above a table, not in it.
DESCRIPTIONS = ("measured", "data", "server", "client", "processing", "error")
COLUMNS = [  # headings for results that do not name their own columns
    ("benchmark", "benchmark"),
    ("database", "database"),
    ("requests", "requests"),
    ("median_ms", "median ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("tickets_per_s", "tickets/s (sequential)"),
    ("tcp_connects", "TCP connects"),
]


def run_one(name: str, args: list[str]) -> dict:
    """Runs one script, echoes its output and returns its RESULT (or an error row)."""
    print(f"== {name} {' '.join(args[1:])}", flush=True)
    with subprocess.Popen(
        [PYTHON, str(BENCH / args[0]), *args[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM first, so that the script stops its servers and drops its databases.
            process.terminate()
            try:
                process.communicate(timeout=CLEANUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
            return {"benchmark": name, "error": f"timed out after {TIMEOUT}s"}
    print(stdout, end="")
    print(stderr, end="", file=sys.stderr)
    result = parse_result(stdout)
    if result is None:
        return {"benchmark": name, "error": f"failed (exit {process.returncode})"}
    if process.returncode != 0:  # it measured, but its own checks failed: keep the figures
        result["error"] = f"failed (exit {process.returncode}), see its notes"
    return result


def machine() -> str:
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def _distinct(results: list[dict], key: str) -> list[str]:
    return sorted({r[key] for r in results if key in r})


def _measured(result: dict) -> bool:
    return bool(set(result) - {"benchmark", "error"})


def groups(results: list[dict]) -> list[tuple[str, list[dict], list[tuple[str, str]]]]:
    """(benchmark, its results, its table columns), in the order of BENCHMARKS."""
    names = list(dict.fromkeys(r["benchmark"] for r in results))
    out = []
    for name in names:
        rows = [r for r in results if r["benchmark"] == name]
        own = next((r["columns"] for r in rows if r.get("columns")), None)
        columns = [("benchmark", "benchmark"), *map(tuple, own)] if own else _columns_of(rows)
        out.append((name, rows, columns))
    return out


def _columns_of(rows: list[dict]) -> list[tuple[str, str]]:
    """A table for results that name no columns: their short scalar values, in their order,
    under the headings of COLUMNS where it has one."""
    headings, keys = dict(COLUMNS), {}
    for row in rows:
        for key, value in row.items():
            short = not isinstance(value, str) or len(value) <= 40
            if key not in DESCRIPTIONS and isinstance(value, str | int | float) and short:
                keys.setdefault(key, headings.get(key, key))
    return list(keys.items()) or [("benchmark", "benchmark")]


def write_markdown(results: list[dict], skipped: list[str]) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Benchmark results", "", f"- Date: {now}", f"- Machine: {machine()}", ""]
    for name, rows, columns in groups(results):
        measured = [r for r in rows if _measured(r)]
        lines += [f"## {name}", ""]
        lines += [f"- {k.title()}: {v}" for k in DESCRIPTIONS[:-1] for v in _distinct(measured, k)]
        if measured:
            lines += ["", format_table(columns, measured, markdown=True)]
        lines.append("")
        for r in measured:
            lines += [f"- {r.get('database', name)}: {note}" for note in r.get("notes", [])]
        lines += [f"- {r.get('database', name)}: {r['error']}" for r in rows if "error" in r]
        if lines[-1]:
            lines.append("")
    lines += [f"- skipped: {s}" for s in skipped]
    lines.append("")
    (BENCH / "RESULTS.md").write_text("\n".join(lines))


def _kept_path(args: list[str]) -> Path:
    label = "-".join(a.lstrip("-").removesuffix(".py") for a in args)
    return KEPT / f"{label}.json"


def _keep(args: list[str], result: dict) -> dict:
    KEPT.mkdir(exist_ok=True)
    measured = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    result = {**result, "measured": measured}
    _kept_path(args).write_text(json.dumps(result, indent=1))
    return result


def _kept(args: list[str]) -> dict | None:
    path = _kept_path(args)
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names to run (default: all)")
    options = parser.parse_args(argv)
    only = set(options.only.split(",")) if options.only else None
    have_postgres = postgres_available()
    ran, results, skipped = [], [], []
    for name, args in BENCHMARKS:
        label = f"{name} {' '.join(args[1:])}".strip()
        if only is not None and name not in only:
            if (kept := _kept(args)) is not None:
                results.append(kept)
            continue
        if not (BENCH / args[0]).exists():
            skipped.append(f"{label} (no bench/{args[0]})")
        elif "--postgres" in args and not have_postgres:
            skipped.append(f"{label} (PostgreSQL at 127.0.0.1:5432 not reachable)")
        else:
            result = _keep(args, run_one(name, args))
            ran.append(result)
            results.append(result)
    for _name, rows, columns in groups(ran):
        print("\n" + format_table([*columns, ("error", "error")], rows))
    for line in skipped:
        print(f"skipped: {line}")
    write_markdown(results, skipped)
    print(f"Wrote {BENCH / 'RESULTS.md'}")
    return 1 if any("error" in r for r in ran) else 0


if __name__ == "__main__":
    sys.exit(main())
