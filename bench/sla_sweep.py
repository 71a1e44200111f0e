"""The SLA sweep on a large help desk, on a throwaway database.

Builds --tickets tickets (default 1,000,000) of which --open are unresolved (200,000), each
with its SLA row, history entry and, for a tenth of the closed ones, a past breach; --breaching
of the open tickets (10,000) have a resolution due within the last minute, the other open
ones are due later or paused. Rows are written with INSERT ... SELECT over generate_series
(PostgreSQL) or a recursive CTE (SQLite); the configuration (calendar with Chinese holidays,
policy with escalation actions, groups and agents) through the services.

Then it measures, in-process:
- a sweep with nothing due (the periodic task's usual run), target <= 50 ms;
- detecting the newly due tickets (the sweep's indexed query, all of them), target <= 0.5 s;
- processing all the breaches: the sweep (events, history, e-mails and in-app notifications,
  escalation with its history, re-targeting and e-mails), target <= 5 s;
- the same sweep again (nothing left to do), and checks that each breach was acted on once.

Usage: .venv/bin/python bench/sla_sweep.py [--postgres] [--tickets N] [--open N]
                                            [--breaching N] [--escalate-share F]
"""

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, emit_result, format_table, recreate_pg_database

PG_DATABASE = "firstline_bench_sla"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"
TARGETS = {"idle_ms": 50.0, "detect_ms": 500.0, "total_s": 5.0}
L1_GROUPS, AGENTS_PER_GROUP, ORGS, REQUESTERS = 4, 8, 50, 5000
COLUMNS = [
    ("database", "database"),
    ("tickets", "tickets"),
    ("open", "open"),
    ("breaching", "breaching"),
    ("build_s", "build s"),
    ("idle_ms", "idle sweep ms (≤50)"),
    ("detect_ms", "detect due ms (≤500)"),
    ("total_s", "all processing s (≤5)"),
    ("per_breach_ms", "ms per breach"),
    ("rerun_ms", "second sweep ms"),
]


def setup_django(postgres: bool, workdir: Path) -> None:
    os.environ["DATABASE_URL"] = PG_URL if postgres else f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ["FIRSTLINE_DATA_DIR"] = str(workdir)
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "firstline.settings"
    os.environ["TASKS_BACKEND_CLASS"] = "django_tasks_db.DatabaseBackend"  # enqueue, never send
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str, now: datetime):
        self.pg = vendor == "postgresql"
        self.now = now.astimezone(UTC)

    def series(self, n: int) -> str:
        if self.pg:
            return f"generate_series(1, {n}) AS s(g)"
        recursive = f"SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}"
        return f"(WITH RECURSIVE s(g) AS ({recursive}) SELECT g FROM s) AS s"

    def at(self, seconds: str) -> str:
        """now + `seconds` (an SQL integer expression)."""
        if self.pg:
            return f"(TIMESTAMPTZ '{self.now.isoformat()}' + ({seconds}) * INTERVAL '1 second')"
        base = self.now.strftime("%Y-%m-%d %H:%M:%S")
        return f"strftime('%Y-%m-%d %H:%M:%S', '{base}', printf('%+d seconds', {seconds}))"

    def json(self, text: str) -> str:
        return f"'{text}'::jsonb" if self.pg else f"'{text}'"


def build(args, now: datetime) -> dict:
    """The configuration through the services, the bulk of the rows with INSERT ... SELECT."""
    from django.db import connection, transaction

    from firstline.accounts.models import Group, Organization, Role, User
    from firstline.sla import services
    from firstline.sla.models import SlaEvent, TicketSla
    from firstline.sla.services import TargetMinutes
    from firstline.tickets.models import Category, Ticket, TicketEvent

    began = time.perf_counter()
    calendar = services.create_calendar(
        actor=None,
        name="Shanghai office",
        time_zone="Asia/Shanghai",
        hours=dict.fromkeys(range(5), "09:00-12:00, 13:00-18:00"),
    )
    services.import_holidays(
        actor=None, calendar=calendar, country="CN", first_year=now.year - 1, last_year=now.year + 1
    )
    supervisor = User.objects.create(username="boss", email="boss@bench.test", role=Role.SUPERVISOR)
    orgs = Organization.objects.bulk_create(
        Organization(slug=f"org-{i}", name=f"Client {i}") for i in range(ORGS)
    )
    agents = User.objects.bulk_create(
        User(
            username=f"agent{i}",
            email=f"agent{i}@bench.test",
            role=Role.AGENT,
            password="!",
            language="zh-hans" if i % 3 == 0 else "en",
        )
        for i in range(L1_GROUPS * AGENTS_PER_GROUP + 8)
    )
    requesters = User.objects.bulk_create(
        User(
            username=f"user{i}",
            email=f"user{i}@client{i % ORGS}.test",
            organization=orgs[i % ORGS],
            password="!",
        )
        for i in range(REQUESTERS)
    )
    groups = Group.objects.bulk_create(
        [Group(slug=f"l1-{k}", name=f"Service desk {k}", tier=1) for k in range(L1_GROUPS)]
        + [Group(slug="l2", name="Second line", tier=2), Group(slug="l3", name="Experts", tier=3)]
    )
    for k, group in enumerate(groups[:L1_GROUPS]):
        group.members.set(agents[k * AGENTS_PER_GROUP : (k + 1) * AGENTS_PER_GROUP])
    groups[L1_GROUPS].members.set(agents[L1_GROUPS * AGENTS_PER_GROUP :])
    category = Category.objects.create(name="Hardware", full_name="Hardware")
    standard = {
        1: TargetMinutes(480, 480, 4800),
        2: TargetMinutes(120, 240, 1440),
        3: TargetMinutes(60, 120, 480),
        4: TargetMinutes(30, 60, 240),
    }
    policy = services.create_policy(
        actor=None,
        name="Standard",
        calendar=calendar,
        targets=standard,
        raise_priority=True,
        escalate_to_next_tier=True,
        notify_user=supervisor,
    )
    calm = services.create_policy(
        actor=None, name="Notify only", calendar=calendar, targets=standard
    )

    n, n_open, n_due = args.tickets, args.open, args.breaching
    closed_until = n - n_open  # tickets 1..closed_until are closed, the rest open
    escalating_every = max(1, round(1 / args.escalate_share)) if args.escalate_share else 0
    sql = Sql(connection.vendor, now)
    t, ev, sla, sev = (m._meta.db_table for m in (Ticket, TicketEvent, TicketSla, SlaEvent))
    r0, o0, a0, g0 = requesters[0].pk, orgs[0].pk, agents[0].pk, groups[0].pk

    # Open tickets have k(id) = 1..n_open; the first n_due of them are breaching now.
    def k(x):
        return f"({x} - {closed_until})"

    def due(x):  # breaching: within the last minute; the rest from 2 min to 5 days on
        return (
            f"CASE WHEN {k(x)} <= {n_due} THEN {sql.at(f'-({k(x)} % 60)')} "
            f"ELSE {sql.at(f'120 + ({k(x)} * 7919) % 432000')} END"
        )

    def policy_of(x):
        if not escalating_every:
            return str(calm.pk)
        return f"CASE WHEN {k(x)} % {escalating_every} = 0 THEN {policy.pk} ELSE {calm.pk} END"

    status = (
        f"CASE WHEN g <= {closed_until} THEN 'closed' ELSE CASE ({k('g')} % 10) "
        "WHEN 7 THEN 'pending' WHEN 8 THEN 'pending' WHEN 9 THEN 'on_hold' WHEN 6 THEN 'new' "
        "ELSE 'open' END END"
    )
    status = f"CASE WHEN g > {closed_until} AND {k('g')} <= {n_due} THEN 'open' ELSE {status} END"
    recent = f"-3 * 86400 - ({k('g')} % 86400)"
    created = (
        f"CASE WHEN g <= {closed_until} THEN {sql.at('-40000000 + g * 30')} "
        f"ELSE {sql.at(recent)} END"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {t} (id, subject, description, status, priority, category_id, channel,
                requester_id, organization_id, group_id, assignee_id, merged_into_id, version,
                created_at, updated_at, first_responded_at, resolved_at, closed_at)
            SELECT g, 'Printer on floor ' || (g % 9) || ' jams', 'It jams since this morning.',
                {status}, 1 + (g % 4), {category.pk}, 'email', {r0} + (g % {REQUESTERS}),
                {o0} + ((g % {REQUESTERS}) % {ORGS}), {g0} + (g % {L1_GROUPS}),
                CASE WHEN g % 5 = 0 THEN NULL ELSE {a0} + (g % {L1_GROUPS}) * {AGENTS_PER_GROUP}
                    + (g / 7) % {AGENTS_PER_GROUP} END,
                NULL, 1, {created}, {created}, {created},
                CASE WHEN g <= {closed_until} THEN {created} END,
                CASE WHEN g <= {closed_until} THEN {created} END
            FROM {sql.series(n)}"""
        )
        if sql.pg:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), {n})")
        cursor.execute(
            f"""INSERT INTO {ev} (ticket_id, actor_id, channel, kind, field, old_value, new_value,
                note, is_public, created_at)
            SELECT id, requester_id, channel, 'created', '', '', '', '', TRUE, created_at
            FROM {t}"""
        )
        paused = "(t.status IN ('pending', 'on_hold'))"
        done = f"t.id <= {closed_until} OR {paused}"
        pause_json = sql.json('[["2026-01-01T00:00:00+00:00", null, "pending"]]')
        zero = "00000000-0000-0000-0000-000000000000"
        no_claim = f"'{zero}'::uuid" if sql.pg else f"'{zero.replace('-', '')}'"
        cursor.execute(
            f"""INSERT INTO {sla} (ticket_id, policy_id, calendar_id, priority, status, started_at,
                pauses, paused_since, warning_percent, first_response_minutes,
                first_response_due_at, first_response_warn_at, first_response_met_at,
                next_response_minutes, next_response_cycle, next_response_started_at,
                next_response_due_at, next_response_warn_at, next_response_met_at,
                resolution_minutes, resolution_due_at, resolution_warn_at, resolution_met_at,
                fired, next_due_at, next_check_at, business_seconds_used, updated_at)
            SELECT t.id,
                CASE WHEN t.id <= {closed_until} THEN {calm.pk} ELSE {policy_of("t.id")} END,
                {calendar.pk}, t.priority, t.status, t.created_at,
                CASE WHEN {paused} THEN {pause_json} ELSE {sql.json("[]")} END,
                CASE WHEN {paused} THEN t.created_at END,
                75, 120, t.created_at, t.created_at, t.first_responded_at,
                240, 0, NULL, NULL, NULL, NULL,
                1440,
                CASE WHEN {done} THEN NULL ELSE {due("t.id")} END,
                CASE WHEN {done} THEN NULL ELSE {due("t.id")} END,
                t.resolved_at,
                CASE WHEN t.id > {closed_until} AND {k("t.id")} <= {n_due} THEN 19 ELSE 3 END,
                CASE WHEN {done} THEN NULL ELSE {due("t.id")} END,
                CASE WHEN {done} THEN NULL ELSE {due("t.id")} END,
                0, t.updated_at
            FROM {t} AS t"""
        )
        cursor.execute(
            f"""INSERT INTO {sev} (ticket_id, target, cycle, kind, due_at, claim, created_at)
            SELECT id, 'resolution', 0, 'breach', created_at,
                {no_claim},
                created_at
            FROM {t} WHERE id <= {closed_until} AND id % 10 = 0"""
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"build_s": round(time.perf_counter() - began, 1), "policy": policy, "calm": calm}


def measure(args, workdir: Path) -> dict:
    setup_django(args.postgres, workdir)
    from django.db import connection

    from firstline.sla import services
    from firstline.sla.models import SlaEvent, TicketSla
    from firstline.tickets.models import Ticket, TicketEvent

    now = datetime.now(UTC).replace(microsecond=0)
    built = build(args, now)
    print(f"built in {built['build_s']} s", flush=True)
    result = {
        "database": connection.vendor,
        "tickets": args.tickets,
        "open": args.open,
        "breaching": args.breaching,
        "build_s": built["build_s"],
    }
    notes = []

    # 1. Nothing due: the periodic task's usual run (before the breaching minute).
    quiet = now - timedelta(seconds=61)
    services.sweep(now=quiet)  # warm-up: connection, statement cache
    idle = []
    queries = []
    for _ in range(30):
        with connection.execute_wrapper(lambda execute, *a: queries.append(1) or execute(*a)):
            began = time.perf_counter()
            report = services.sweep(now=quiet)
            idle.append(time.perf_counter() - began)
        assert report.checked == 0, report
    result["idle_ms"] = round(statistics.median(idle) * 1000, 2)
    notes.append(
        f"idle sweep: median of 30 runs, max {max(idle) * 1000:.2f} ms, "
        f"{len(queries) // 30} query per run"
    )

    # 2. Detection: the sweep's indexed query, for every due ticket.
    due = TicketSla.objects.filter(next_check_at__lte=now).order_by("next_check_at", "ticket_id")
    detect = []
    for _ in range(5):
        began = time.perf_counter()
        found = list(due.values_list("next_check_at", "ticket_id"))
        detect.append(time.perf_counter() - began)
    result["detect_ms"] = round(statistics.median(detect) * 1000, 2)
    notes.append(f"detection: {len(found)} due tickets found (median of 5 reads of all of them)")
    with connection.cursor() as cursor:
        query, params = due.values_list("ticket_id").query.sql_with_params()
        explain = "EXPLAIN " if args.postgres else "EXPLAIN QUERY PLAN "
        cursor.execute(explain + query + " LIMIT 500", params)
        plan = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
    notes.append("plan of one batch: " + " | ".join(p.strip() for p in plan[:3]))

    # 3. Processing every breach: events, history, e-mails, escalation.
    events_before = TicketEvent.objects.count()
    priorities_before = dict(
        Ticket.objects.filter(pk__in=[pk for _at, pk in found]).values_list("pk", "priority")
    )
    began, began_cpu = time.perf_counter(), time.process_time()
    report = services.sweep(now=now)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    notes.append(
        f"sweep: {report.breaches} breaches, {report.messages} e-mails queued, "
        f"{report.escalations} tickets escalated ({args.escalate_share:.0%} of the "
        "breaching tickets are under the escalating policy: raise priority + next tier + "
        f"supervisor), {TicketEvent.objects.count() - events_before} history entries"
    )

    stages = ", ".join(f"{k} {v:.2f} s" for k, v in report.seconds.items())
    notes.append(f"CPU time of the sweep's process: {cpu:.2f} s (the rest waits on the database)")
    notes.append(f"sweep time by stage: {stages}")

    result["total_s"] = round(elapsed, 2)
    result["per_breach_ms"] = round(elapsed * 1000 / max(report.breaches, 1), 3)

    # 4. Again: each breach was acted on once.
    began = time.perf_counter()
    again = services.sweep(now=now)
    result["rerun_ms"] = round((time.perf_counter() - began) * 1000, 2)
    problems = []
    if report.breaches != len(found) or again.breaches or again.checked:
        problems.append(f"expected {len(found)} breaches once, got {report} then {again}")
    if SlaEvent.objects.filter(kind="breach", created_at=now).count() != len(found):
        problems.append("SLA events do not match the breaches")
    raised = Ticket.objects.filter(pk__in=list(priorities_before)).values_list("pk", "priority")
    too_far = [pk for pk, p in raised if p > min(priorities_before[pk] + 1, 4)]
    if too_far:
        problems.append(f"{len(too_far)} tickets were raised more than one step")
    misses = [
        f"{key} {result[key]} > {limit}" for key, limit in TARGETS.items() if result[key] > limit
    ]
    notes.append("targets: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))
    notes += [f"PROBLEM: {p}" for p in problems]
    result["notes"] = notes
    result["problems"] = problems
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help=f"use {PG_URL}")
    parser.add_argument("--tickets", type=int, default=None, help="all tickets (1,000,000)")
    parser.add_argument("--open", type=int, default=None, help="unresolved tickets (200,000)")
    parser.add_argument("--breaching", type=int, default=10_000, help="newly breaching (10,000)")
    parser.add_argument(
        "--escalate-share",
        type=float,
        default=1.0,
        help="share of the breaching tickets whose policy escalates (1.0)",
    )
    args = parser.parse_args(argv)
    default_size = 1_000_000 if args.postgres else 200_000
    args.tickets = args.tickets or default_size
    args.open = args.open or args.tickets // 5
    if not 0 < args.breaching <= args.open <= args.tickets:
        parser.error("need 0 < --breaching <= --open <= --tickets")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("sla_sweep: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-sla-"))
    try:
        if args.postgres:
            recreate_pg_database(PG_DATABASE)
        result = measure(args, workdir)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(PG_DATABASE, drop_only=True)
    print(format_table(COLUMNS, [result]))
    for note in result["notes"]:
        print(f"- {note}")
    problems = result.pop("problems")
    result["benchmark"] = "sla_sweep"
    result["columns"] = [list(c) for c in COLUMNS]
    result["processing"] = "in-process services.sweep() on a throwaway database"
    emit_result(result)
    if problems:
        sys.exit(1)
    return result


if __name__ == "__main__":
    main()
