"""Where a request's Python time goes, in a few lines a benchmark can keep with its figures.

A benchmark that misses its target records this for RESULTS.md: cProfile's own time per
function summed into areas (waiting for the database, the ORM building queries and objects,
templates, Firstline's own code, Django's request handling), then the Firstline functions
with the most cumulative time. Used inside the benchmarks' child processes (`import
profiling` with bench/ on sys.path).
"""

import cProfile
import pstats
from collections.abc import Callable

# (area, what a profiled function's file path contains); the first match wins.
AREAS = [
    ("database (driver, and waiting for answers)", ("psycopg/",)),
    ("Django ORM (building queries, making objects)", ("django/db/",)),
    ("templates and forms", ("django/template", "django/forms", "templatetags")),
    ("Django utilities (dates, translations, lazy text)", ("django/utils/",)),
    ("Firstline code", ("firstline/",)),
    ("API framework (django-ninja, pydantic)", ("ninja/", "pydantic")),
    ("Django request handling (middleware, sessions, auth, URLs)", ("django/", "asgiref/")),
]
DATABASE_CALLS = ("sqlite3.Cursor", "sqlite3.Connection", "sqlite3'")
WRAPPER_SHARE = 0.8  # functions around the whole request (middleware, the view) say nothing


def area_of(func: tuple) -> str:
    path, _line, name = func
    where = f"{path} {name}"
    if any(call in where for call in DATABASE_CALLS):
        return AREAS[0][0]
    for area, needles in AREAS:
        if any(needle in where for needle in needles):
            return area
    return "Python itself (builtins, standard library)"


def profile_calls(call: Callable[[], object], times: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        call()
    profiler.disable()
    return pstats.Stats(profiler)


def summary(stats: pstats.Stats, top: int = 8) -> list[str]:
    """Two lines: the share of own time per area, and the Firstline functions with the most
    cumulative time (as a share of the whole)."""
    own: dict[str, float] = {}
    total = 0.0
    for func, (_calls, _primitive, own_time, _cumulative, _callers) in stats.stats.items():
        own[area_of(func)] = own.get(area_of(func), 0.0) + own_time
        total += own_time
    total = total or 1.0
    areas = ", ".join(
        f"{area} {100 * t / total:.0f}%" for area, t in sorted(own.items(), key=lambda i: -i[1])
    )
    ours = sorted(
        (
            (cumulative, func)
            for func, (_c, _p, _o, cumulative, _callers) in stats.stats.items()
            if "firstline/" in func[0] and cumulative < WRAPPER_SHARE * total
        ),
        key=lambda item: -item[0],
    )
    functions = ", ".join(
        f"{func[0].split('firstline/', 1)[1]}:{func[2]} {100 * cumulative / total:.0f}%"
        for cumulative, func in ours[:top]
    )
    return [
        f"own time by area: {areas}",
        f"Firstline functions by cumulative time: {functions}",
    ]
