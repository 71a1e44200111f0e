"""Runs every benchmark below, prints one combined table and writes bench/RESULTS.md.

To add a benchmark: write bench/<script>.py that ends by printing `RESULT {json}`
(see common.emit_result) and append a (name, [script, args...]) entry to BENCHMARKS.
Entries whose args contain --postgres run only if PostgreSQL at 127.0.0.1:5432 answers.
"""

import datetime
import os
import platform
import subprocess
import sys

from common import PYTHON, ROOT, format_table, parse_result, postgres_available

BENCH = ROOT / "bench"
TIMEOUT = 1800  # seconds per benchmark

BENCHMARKS = [
    ("api_create", ["api_create.py"]),
    ("api_create", ["api_create.py", "--postgres"]),
]

COLUMNS = [
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
    try:
        done = subprocess.run(
            [PYTHON, str(BENCH / args[0]), *args[1:]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"benchmark": name, "error": f"timed out after {TIMEOUT}s"}
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    result = parse_result(done.stdout) if done.returncode == 0 else None
    if result is None:
        return {"benchmark": name, "error": f"failed (exit {done.returncode})"}
    return result


def machine() -> str:
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def _distinct(results: list[dict], key: str) -> list[str]:
    return sorted({r[key] for r in results if key in r})


def write_markdown(results: list[dict], skipped: list[str]) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = [f"- {k.title()}: {v}" for k in ("server", "client") for v in _distinct(results, k)]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {now}",
        f"- Machine: {machine()}",
        *notes,
        "",
        format_table(COLUMNS, [r for r in results if "error" not in r], markdown=True),
        "",
    ]
    lines += [f"- {r['benchmark']}: {r['error']}" for r in results if "error" in r]
    lines += [f"- skipped: {s}" for s in skipped]
    lines.append("")
    (BENCH / "RESULTS.md").write_text("\n".join(lines))


def main() -> int:
    have_postgres = postgres_available()
    results, skipped = [], []
    for name, args in BENCHMARKS:
        label = f"{name} {' '.join(args[1:])}".strip()
        if not (BENCH / args[0]).exists():
            skipped.append(f"{label} (no bench/{args[0]})")
        elif "--postgres" in args and not have_postgres:
            skipped.append(f"{label} (PostgreSQL at 127.0.0.1:5432 not reachable)")
        else:
            results.append(run_one(name, args))
    print("\n" + format_table([*COLUMNS, ("error", "error")], results))
    for line in skipped:
        print(f"skipped: {line}")
    write_markdown(results, skipped)
    print(f"Wrote {BENCH / 'RESULTS.md'}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
