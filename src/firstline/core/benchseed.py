"""Realistic benchmark data at scale, for `firstline bench_seed` and the benchmarks in bench/.

Organizations (a fifth of them Chinese), requesters, agents in L1/L2/L3 groups, a category
tree and a 24/7 SLA policy are made with the ORM. Tickets are made in chunks of CHUNK with
their whole story: a conversation of 1 to 6 entries (public replies, internal notes, the
requester's answers) from templates of real IT issues in English and Chinese, the history of
their creation, replies and last status change, and their SLA clock with the due times the
policy gives. Ticket times spread over two years with weekly and daily seasonality and a
growing volume; about 10 % are unresolved, the newest ones mostly.

Rows go in with COPY on PostgreSQL (psycopg 3, one transaction per chunk, foreign-key
triggers off when we are superuser: the rows are consistent by construction) and with
executemany on SQLite. Nothing goes through the services: no signals, no e-mail, no tasks.
"""

import bisect
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from firstline.accounts.models import Group, Organization, Role, User
from firstline.core import clock, revisions
from firstline.core.errors import Conflict
from firstline.core.maintenance import filled_tables
from firstline.sla import config as sla_config
from firstline.sla.models import Calendar, Policy, PolicyTarget, TicketSla
from firstline.sla.tracking import BITS
from firstline.tickets.models import Category, Comment, Ticket, TicketEvent

from . import benchseed_texts as texts

BENCH_PASSWORD = "firstline-bench"
CHUNK = 20_000
DAYS = 730
ZH_SHARE = 0.2
ACTIVE_WINDOW = 0.2  # unresolved tickets are among the newest fifth
TIER_SHARES = {1: 0.55, 2: 0.32, 3: 0.13}
PRIORITY_WEIGHTS = (0.15, 0.60, 0.20, 0.05)  # low, normal, high, urgent
CONVERSATION_WEIGHTS = (15, 25, 25, 17, 10, 8)  # 1..6 entries
CHANNELS = (("email", 45), ("web", 35), ("phone", 10), ("chat", 5), ("api", 3), ("walk_in", 2))
WEEKDAY_FACTORS = (1.15, 1.1, 1.05, 1.0, 0.9, 0.15, 0.1)
HOUR_WEIGHTS = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 6, 6, 5,
    3, 4, 5.5, 5, 4, 2.5, 1.2, 0.8, 0.6, 0.5, 0.4, 0.3,
)  # fmt: skip
UTC_OFFSET_HOURS = {False: 0, True: 8}  # English-writing clients in Europe, Chinese in China
# (first response, next response, resolution) in minutes of a 24/7 calendar, per priority.
TARGETS = {1: (480, 960, 7200), 2: (240, 480, 2880), 3: (60, 120, 480), 4: (30, 60, 240)}
WARNING_PERCENT = 75
EN_UPDATE = "We're still working on this; next update by tomorrow."
ZH_UPDATE = "我们仍在处理中，明天之前会再更新进展。"


@dataclass(frozen=True)
class SeedOptions:
    tickets: int
    organizations: int = 200
    agents: int = 300
    articles: int = 0
    requesters: int | None = None  # default: one per 40 tickets, 50 to 50,000
    seed: int = 7
    force: bool = False


@dataclass
class SeedReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Directory:
    """The people and configuration the tickets refer to, by primary key."""

    requesters: dict[bool, list[tuple[int, int]]]  # zh? -> [(user id, organization id)]
    groups: dict[int, list[int]]  # tier -> group ids
    members: dict[int, list[int]]  # group id -> agent ids
    categories: dict[str, int]  # full name -> id
    policy_id: int
    calendar_id: int


def seed(options: SeedOptions, progress: Callable[[str], None] = print) -> SeedReport:
    """Creates the whole data set; refuses a database with tickets unless `force`."""
    if Ticket.objects.exists() and not options.force:
        raise Conflict("The database already has tickets; bench_seed adds a lot of data.")
    rng = random.Random(options.seed)
    report = SeedReport()
    began = time.perf_counter()
    tag = "" if not User.objects.filter(username="bench-admin").exists() else secrets.token_hex(2)
    with transaction.atomic():
        directory = _directory(options, rng, tag, report)
    report.seconds["people"] = round(time.perf_counter() - began, 1)
    progress(f"people and configuration in {report.seconds['people']} s")
    _tickets(options, rng, directory, report, progress)
    report.seconds["tickets"] = round(time.perf_counter() - began - report.seconds["people"], 1)
    if options.articles:
        _articles(options, rng, directory, report, progress)
    _analyze()
    report.seconds["total"] = round(time.perf_counter() - began, 1)
    return report


# --- People and configuration ------------------------------------------------------------


def _directory(options: SeedOptions, rng: random.Random, tag: str, report) -> Directory:
    password = make_password(BENCH_PASSWORD)
    orgs = _organizations(options.organizations, rng, tag)
    requesters = _requesters(options, rng, orgs, password, tag)
    agents = _staff(options.agents, rng, password, tag)
    groups, members = _groups(agents, rng, tag)
    categories = _categories()
    policy = _policy(tag)
    report.counts.update(
        organizations=len(orgs),
        requesters=sum(len(v) for v in requesters.values()),
        agents=len(agents),
        groups=sum(len(v) for v in groups.values()),
        categories=len(categories),
    )
    return Directory(requesters, groups, members, categories, policy.pk, policy.calendar_id)


def _organizations(count: int, rng: random.Random, tag: str) -> list[tuple[int, bool]]:
    """(id, Chinese?) for `count` organizations, every fifth or so Chinese."""
    rows = []
    for i in range(count):
        zh = rng.random() < ZH_SHARE * 1.1
        if zh:
            name = (
                rng.choice(texts.ZH_CITIES)
                + rng.choice(texts.ZH_ORG_WORDS)
                + rng.choice(texts.ZH_ORG_KINDS)
                + "有限公司"
            )
        else:
            name = f"{rng.choice(texts.EN_ORG_WORDS)} {rng.choice(texts.EN_ORG_KINDS)}"
        rows.append((Organization(slug=f"bench{tag}-org-{i}", name=f"{name} {i}"), zh))
    created = Organization.objects.bulk_create([org for org, _zh in rows], batch_size=1000)
    return [(org.pk, zh) for org, (_o, zh) in zip(created, rows, strict=True)]


def _requesters(options, rng, orgs, password, tag) -> dict[bool, list[tuple[int, int]]]:
    count = options.requesters or min(50_000, max(50, options.tickets // 40))
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(orgs))]  # a few large clients
    users, homes = [], []
    for i, (org_id, zh) in enumerate(rng.choices(orgs, weights=weights, k=count)):
        if zh:
            first, last = rng.choice(texts.ZH_SURNAMES) + rng.choice(texts.ZH_GIVEN), ""
        else:
            first, last = rng.choice(texts.EN_FIRST), rng.choice(texts.EN_LAST)
        users.append(
            User(
                username=f"bench{tag}-user{i}",
                email=f"user{i}{tag}@client{org_id}.bench.test",
                first_name=first,
                last_name=last,
                organization_id=org_id,
                is_org_manager=i % 50 == 0,
                language="zh-hans" if zh else "en",
                time_zone="Asia/Shanghai" if zh else "Europe/London",
                password=password,
            )
        )
        homes.append((org_id, zh))
    created = User.objects.bulk_create(users, batch_size=2000)
    pools: dict[bool, list[tuple[int, int]]] = {False: [], True: []}
    for user, (org_id, zh) in zip(created, homes, strict=True):
        pools[zh].append((user.pk, org_id))
    if not pools[True] or not pools[False]:  # tiny data sets: both languages all the same
        pools[True] = pools[True] or pools[False]
        pools[False] = pools[False] or pools[True]
    return pools


def _staff(count: int, rng: random.Random, password: str, tag: str) -> list[User]:
    """`count` agents, and an admin and two supervisors to look at everything."""
    people = [
        User(username=f"bench{tag}-admin", email=f"admin{tag}@desk.bench.test", role=Role.ADMIN),
        *[
            User(
                username=f"bench{tag}-supervisor{i}",
                email=f"supervisor{i}{tag}@desk.bench.test",
                role=Role.SUPERVISOR,
            )
            for i in (1, 2)
        ],
    ]
    for i in range(count):
        zh = i % 4 == 0
        people.append(
            User(
                username=f"bench{tag}-agent{i}",
                email=f"agent{i}{tag}@desk.bench.test",
                first_name=rng.choice(texts.ZH_SURNAMES) if zh else rng.choice(texts.EN_FIRST),
                last_name="" if zh else rng.choice(texts.EN_LAST),
                role=Role.AGENT,
                language="zh-hans" if zh else "en",
            )
        )
    for person in people:
        person.password = password
    created = User.objects.bulk_create(people)
    return created[3:]


def _groups(agents: list[User], rng: random.Random, tag: str):
    """L1, L2 and L3 groups, one per ten agents (at least 6); agent i is in 1 + i % 5."""
    total = max(6, len(agents) // 10)
    tiers = [1] * max(1, round(total * 0.4)) + [2] * max(1, round(total * 0.4))
    tiers += [3] * max(1, total - len(tiers))
    groups = Group.objects.bulk_create(
        Group(slug=f"bench{tag}-l{tier}-{i}", name=f"L{tier} team {i}", tier=tier)
        for i, tier in enumerate(tiers)
    )
    chosen: list[set[int]] = [{groups[i % len(groups)].pk} for i in range(len(agents))]
    for j, group in enumerate(groups):  # every group has members, however few the agents
        chosen[j % len(agents)].add(group.pk)
    members: dict[int, list[int]] = {g.pk: [] for g in groups}
    for i, agent in enumerate(agents):
        wanted = min(len(groups), 1 + i % 5)
        while len(chosen[i]) < wanted:
            chosen[i].add(rng.choice(groups).pk)
        for group_id in chosen[i]:
            members[group_id].append(agent.pk)
    Membership = Group.members.through
    Membership.objects.bulk_create(
        Membership(group_id=g, user_id=u) for g, users in members.items() for u in users
    )
    revisions.bump(revisions.CONFIGURATION)  # bulk inserts send no signal
    by_tier: dict[int, list[int]] = {}
    for group in groups:
        by_tier.setdefault(group.tier, []).append(group.pk)
    return by_tier, members


def _categories() -> dict[str, int]:
    paths = {t.category for t in (*texts.EN_ISSUES, *texts.ZH_ISSUES)}
    ids = {}
    for path in sorted(paths):
        parent_name, name = path.split(" > ")
        parent, _ = Category.objects.get_or_create(
            name=parent_name, parent=None, defaults={"full_name": parent_name}
        )
        child, _ = Category.objects.get_or_create(
            name=name, parent=parent, defaults={"full_name": path}
        )
        ids[path] = child.pk
    return ids


def _policy(tag: str) -> Policy:
    """A 24/7 policy matching every ticket, so that due times are plain additions."""
    calendar = Calendar.objects.create(name=f"Bench 24/7{tag}", time_zone="UTC", always_open=True)
    policy = Policy.objects.create(
        name=f"Bench standard{tag}", calendar=calendar, warning_percent=WARNING_PERCENT
    )
    PolicyTarget.objects.bulk_create(
        PolicyTarget(
            policy=policy,
            priority=p,
            first_response_minutes=fr,
            next_response_minutes=nr,
            resolution_minutes=res,
        )
        for p, (fr, nr, res) in TARGETS.items()
    )
    sla_config.bump()
    return policy


# --- Tickets ---------------------------------------------------------------------------------


def _created_moments(n: int, now: float, rng: random.Random) -> list[int]:
    """Creation moments of `n` tickets, oldest first, as `seconds * 2 + (1 if Chinese)`."""
    first_day = math.floor(now / 86400) - DAYS + 1
    day_weights = [
        (0.55 + 0.45 * d / DAYS) * WEEKDAY_FACTORS[(first_day + d + 3) % 7] for d in range(DAYS)
    ]  # day 0 of the epoch was a Thursday
    days = rng.choices(range(DAYS), weights=day_weights, k=n)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=n)
    codes = []
    for day, hour in zip(days, hours, strict=True):
        zh = rng.random() < ZH_SHARE
        moment = (first_day + day) * 86400 + (hour - UTC_OFFSET_HOURS[zh]) * 3600
        moment += int(rng.random() * 3600)
        if moment >= now:
            moment = int(now - 60 - rng.random() * 6 * 3600)
        codes.append(moment * 2 + zh)
    codes.sort()
    return codes


@dataclass
class _Ids:
    ticket: int
    comment: int


def _tickets(options, rng, directory: Directory, report: SeedReport, progress) -> None:
    now = clock.now().timestamp()
    codes = _created_moments(options.tickets, now, rng)
    ids = _Ids(
        ticket=(Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1,
        comment=(Comment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1,
    )
    maker = _TicketMaker(rng, directory, now)
    writer = _writer()
    counts = dict.fromkeys(("tickets", "comments", "events", "slas"), 0)
    began = time.perf_counter()
    for start in range(0, len(codes), CHUNK):
        batch = _Batch()
        for index in range(start, min(start + CHUNK, len(codes))):
            rank = (len(codes) - 1 - index) / len(codes)  # 0 for the newest
            maker.make(codes[index], rank, ids, batch)
        with transaction.atomic():
            writer.prepare()
            batch.write(writer)
        for key, rows in batch.sizes().items():
            counts[key] += rows
        done = min(start + CHUNK, len(codes))
        elapsed = time.perf_counter() - began
        progress(f"{done:,} tickets ({done / elapsed:,.0f}/s, {elapsed:,.0f} s)")
    writer.finish(ids)
    report.counts.update(counts)
    report.counts["statuses"] = maker.statuses
    report.counts["chinese_tickets"] = maker.chinese


@dataclass
class _Batch:
    tickets: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    events: list = field(default_factory=list)
    slas: list = field(default_factory=list)

    def write(self, writer) -> None:
        writer.write(Ticket, TICKET_COLUMNS, self.tickets)
        writer.write(Comment, COMMENT_COLUMNS, self.comments)
        writer.write(TicketEvent, EVENT_COLUMNS, self.events)
        writer.write(TicketSla, SLA_COLUMNS, self.slas)

    def sizes(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("tickets", "comments", "events", "slas")}


TICKET_COLUMNS = (
    "id", "subject", "description", "status", "priority", "category_id", "channel",
    "requester_id", "organization_id", "group_id", "assignee_id", "version", "created_at",
    "updated_at", "first_responded_at", "resolved_at", "closed_at", "sla_due_at",
)  # fmt: skip
COMMENT_COLUMNS = ("id", "ticket_id", "author_id", "body", "is_public", "channel", "created_at")
EVENT_COLUMNS = (
    "ticket_id", "actor_id", "channel", "kind", "field", "old_value", "new_value", "note",
    "is_public", "created_at",
)  # fmt: skip
SLA_COLUMNS = (
    "ticket_id", "policy_id", "calendar_id", "priority", "status", "started_at", "pauses",
    "paused_since", "warning_percent", "first_response_minutes", "first_response_due_at",
    "first_response_warn_at", "first_response_met_at", "next_response_minutes",
    "next_response_cycle", "next_response_started_at", "next_response_due_at",
    "next_response_warn_at", "next_response_met_at", "resolution_minutes", "resolution_due_at",
    "resolution_warn_at", "resolution_met_at", "fired", "next_due_at", "next_check_at",
    "business_seconds_used", "updated_at",
)  # fmt: skip
SLA_NEXT_DUE = SLA_COLUMNS.index("next_due_at")


@dataclass
class _Story:
    """What happened to one ticket, as seconds since the epoch."""

    status: str
    created: float
    first_response: float | None = None
    resolved: float | None = None
    closed: float | None = None
    paused: float | None = None  # start of an open pending / on-hold period
    entries: list = field(default_factory=list)  # (moment, kind)


class _TicketMaker:
    def __init__(self, rng: random.Random, directory: Directory, now: float):
        self.rng, self.d, self.now = rng, directory, now
        self.templates = {False: texts.EN_ISSUES, True: texts.ZH_ISSUES}
        self.template_weights = {
            zh: list(itertools.accumulate(t.weight for t in ts))
            for zh, ts in self.templates.items()
        }
        self.tier_cum = list(itertools.accumulate(TIER_SHARES.values()))
        self.channel_names = [c for c, _w in CHANNELS]
        self.channel_cum = list(itertools.accumulate(w for _c, w in CHANNELS))
        self.conversation_cum = list(itertools.accumulate(CONVERSATION_WEIGHTS))
        self.priority_cum = list(itertools.accumulate(PRIORITY_WEIGHTS))
        self.statuses: dict[str, int] = {}
        self.chinese = 0

    def _pick(self, cum: list[float]) -> int:
        return bisect.bisect_right(cum, self.rng.random() * cum[-1])

    def make(self, code: int, rank: float, ids: _Ids, batch: _Batch) -> None:
        rng = self.rng
        zh, created = bool(code & 1), float(code >> 1)
        template = self.templates[zh][self._pick(self.template_weights[zh])]
        words = {k: rng.choice(v) for k, v in texts.VOCABULARY.items()}
        pool = self.d.requesters[zh]
        requester, org = pool[int(len(pool) * rng.random() ** 1.6)]
        tier = 1 + min(2, self._pick(self.tier_cum))
        group = rng.choice(self.d.groups.get(tier) or self.d.groups[1])
        priority = 1 + self._pick(self.priority_cum)
        if template.priority_bias and rng.random() < 0.5:
            priority = min(4, max(1, priority + template.priority_bias))
        story = self._story(created, rank)
        assigned = story.status != "new" and (story.status not in ("open",) or rng.random() < 0.7)
        assignee = rng.choice(self.d.members[group]) if assigned else None
        channel = self.channel_names[self._pick(self.channel_cum)]
        ticket_id, ids.ticket = ids.ticket, ids.ticket + 1
        self.statuses[story.status] = self.statuses.get(story.status, 0) + 1
        self.chinese += zh
        people = (requester, assignee or rng.choice(self.d.members[group]))
        updated = self._conversation(ticket_id, story, template, words, zh, people, ids, batch)
        sla = self._sla(ticket_id, story, priority, updated)
        batch.tickets.append(
            (
                ticket_id,
                rng.choice(template.subjects).format_map(words),
                template.description.format_map(words),
                story.status,
                priority,
                self.d.categories[template.category],
                channel,
                requester,
                org,
                group,
                assignee,
                1 + len(story.entries),
                _dt(created),
                _dt(updated),
                _dt(story.first_response),
                _dt(story.resolved),
                _dt(story.closed),
                sla[SLA_NEXT_DUE],  # the SLA's copy on the ticket
            )
        )
        self._events(ticket_id, story, channel, people, batch)
        batch.slas.append(sla)

    def _story(self, created: float, rank: float) -> _Story:
        rng, age = self.rng, self.now - created
        if rank < ACTIVE_WINDOW and rng.random() < 0.9 - 0.8 * rank / ACTIVE_WINDOW:
            return self._active_story(created, rank, age)
        story = _Story("closed", created)
        resolve_after = min(rng.lognormvariate(math.log(6 * 3600), 1.4), 60 * 86400, age * 0.95)
        story.first_response = created + min(
            rng.lognormvariate(math.log(40 * 60), 1.1), resolve_after * 0.8
        )
        story.resolved = created + resolve_after
        wait = 7 * 86400 if rng.random() < 0.7 else rng.uniform(600, 2 * 86400)
        if story.resolved + wait > self.now:
            story.status = "resolved"
        else:
            story.closed = story.resolved + wait
        return story

    def _active_story(self, created: float, rank: float, age: float) -> _Story:
        rng = self.rng
        if rng.random() < (0.5 if rank < 0.01 else 0.08):
            story = _Story("new", created)
            story.entries = [(created + min(age * 0.5, rng.expovariate(1 / 1800)), "first")]
            return story
        roll = rng.random()
        status = "open" if roll < 0.58 else "pending" if roll < 0.88 else "on_hold"
        story = _Story(status, created)
        story.first_response = created + min(rng.lognormvariate(math.log(40 * 60), 1.1), age / 3)
        return story

    def _timeline(self, story: _Story) -> list[tuple[float, str]]:
        """Moments and kinds of the conversation entries, the first one answering."""
        rng = self.rng
        if story.entries:
            return story.entries
        count = 1 + self._pick(self.conversation_cum)
        start = story.first_response
        end = story.resolved if story.resolved is not None else self.now - 60
        end = max(end, start)
        moments = sorted(start + (end - start) * rng.random() for _ in range(count - 1))
        if story.resolved is not None and count > 1:
            moments[-1] = end
        kinds = ["reply"] + [
            ("answer", "note", "chaser", "update")[i % 4] for i in range(count - 1)
        ]
        if story.resolved is not None:
            kinds[-1] = "resolution"
        elif story.status == "pending":
            kinds[-1] = "reply"
        elif story.status == "on_hold":
            kinds[-1] = "hold"
        timeline = list(zip([start, *moments], kinds, strict=True))
        if story.status in ("pending", "on_hold"):
            story.paused = timeline[-1][0]
        return timeline

    def _conversation(self, ticket_id, story, template, words, zh, people, ids, batch) -> float:
        """Adds the comments and their history; returns the last activity moment."""
        requester, agent = people
        timeline = self._timeline(story)
        if story.status == "new":
            timeline = [(timeline[0][0], "chaser" if self.rng.random() < 0.5 else "triage")]
        story.entries = timeline
        for moment, kind in timeline:
            body, by_agent, public = self._entry(kind, template, words, zh)
            comment_id, ids.comment = ids.comment, ids.comment + 1
            author = agent if by_agent else requester
            batch.comments.append((comment_id, ticket_id, author, body, public, "web", _dt(moment)))
            batch.events.append(
                (
                    ticket_id, author, "web", "commented" if public else "note_added", "", "",
                    "", f"comment:{comment_id}", public, _dt(moment),
                )
            )  # fmt: skip
        return max(timeline[-1][0], story.closed or 0, story.resolved or 0)

    def _entry(self, kind: str, template, words: dict, zh: bool) -> tuple[str, bool, bool]:
        """(body, written by the agent?, public?)"""
        rng = self.rng
        if kind == "chaser":
            return rng.choice(texts.ZH_CHASERS if zh else texts.EN_CHASERS), False, True
        if kind == "triage":
            return (texts.ZH_TRIAGE if zh else texts.EN_TRIAGE), True, False
        if kind == "hold":
            return (texts.ZH_HOLD if zh else texts.EN_HOLD), True, False
        if kind == "update":
            return (ZH_UPDATE if zh else EN_UPDATE), True, True
        text = {
            "reply": template.reply,
            "note": template.note,
            "answer": template.answer,
            "resolution": template.resolution,
        }[kind]
        return text.format_map(words), kind != "answer", kind != "note"

    def _events(self, ticket_id: int, story: _Story, channel: str, people, batch) -> None:
        requester, agent = people
        batch.events.append(
            (ticket_id, requester, channel, "created", "", "", "", "", True, _dt(story.created))
        )
        change = {
            "open": ("new", "open", story.first_response, agent),
            "pending": ("open", "pending", story.paused, agent),
            "on_hold": ("open", "on_hold", story.paused, agent),
            "resolved": ("open", "resolved", story.resolved, agent),
            "closed": ("resolved", "closed", story.closed, None),
        }.get(story.status)
        if change is not None:
            old, new, moment, actor = change
            batch.events.append(
                (ticket_id, actor, "web", "changed", "status", old, new, "", True, _dt(moment))
            )

    def _sla(self, ticket_id: int, story: _Story, priority: int, updated: float) -> tuple:
        fr_min, nr_min, res_min = TARGETS[priority]
        created, now = story.created, self.now
        first = _Target(created, fr_min, story.first_response, story.paused)
        resolution = _Target(created, res_min, story.resolved, story.paused)
        fired = first.fired(now, BITS[("first_response", "warning")]) | resolution.fired(
            now, BITS[("resolution", "warning")]
        )
        unmet = [t for t in (first, resolution) if t.met is None and t.due is not None]
        next_due = min((t.due for t in unmet), default=None)
        upcoming = [m for t in unmet for m in (t.warn, t.due) if m is not None and m > now]
        pauses, paused_since = self._pauses(story)
        used_until = story.resolved or story.paused or now
        return (
            ticket_id, self.d.policy_id, self.d.calendar_id, priority, story.status,
            _dt(created), pauses, _dt(paused_since), WARNING_PERCENT,
            fr_min, _dt(first.due), _dt(first.warn), _dt(first.met),
            nr_min, 0, None, None, None, None,
            res_min, _dt(resolution.due), _dt(resolution.warn), _dt(resolution.met),
            fired, _dt(next_due), _dt(min(upcoming, default=None)),
            int(max(0, used_until - created)), _dt(updated),
        )  # fmt: skip

    def _pauses(self, story: _Story) -> tuple[str, float | None]:
        if story.paused is not None:
            return json.dumps([[_iso(story.paused), None, story.status]]), story.paused
        if story.resolved is None:
            return "[]", None
        pauses = [[_iso(story.resolved), _iso(story.closed) if story.closed else None, "resolved"]]
        if story.closed is not None:
            pauses.append([_iso(story.closed), None, "closed"])
        return json.dumps(pauses), (story.closed or story.resolved)


class _Target:
    """Due and warning moments of one target on a 24/7 calendar, as the policy computes them:
    a clock stopped by an open pause has no due time unless it ran out before the pause."""

    def __init__(self, start: float, minutes: int, met: float | None, paused: float | None):
        self.met = met
        due, warn = start + minutes * 60, start + minutes * 60 * WARNING_PERCENT / 100
        frozen = paused if met is None else None
        self.due = due if frozen is None or due <= frozen else None
        self.warn = warn if frozen is None or warn <= frozen else None

    def fired(self, now: float, warning_bit: int) -> int:
        """Warnings and breaches already acted on: those that came before now (or the met
        time) are marked, so that the sweep has nothing old to catch up on."""
        until = min(now, self.met) if self.met is not None else now
        bits = 0
        if self.warn is not None and self.warn <= until:
            bits |= warning_bit
        if self.due is not None and self.due <= until:
            bits |= warning_bit * 2
        return bits


def _dt(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


# --- Writing ---------------------------------------------------------------------------------


def _writer():
    return _CopyWriter() if connection.vendor == "postgresql" else _InsertWriter()


class _CopyWriter:
    """COPY ... FROM STDIN through psycopg 3; one transaction per chunk."""

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            self.superuser = bool(cursor.fetchone()[0])

    def prepare(self) -> None:
        if self.superuser:  # no foreign-key triggers for rows consistent by construction
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")

    def write(self, model, columns: Iterable[str], rows: list[tuple]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)

    def finish(self, ids: _Ids) -> None:
        with connection.cursor() as cursor:
            for model in (Ticket, Comment):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )


class _InsertWriter:
    """executemany on SQLite's own cursor; datetimes stored as Django stores them."""

    def prepare(self) -> None:
        pass

    def write(self, model, columns: Iterable[str], rows: list[tuple]) -> None:
        columns = tuple(columns)
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})'
        with connection.cursor() as cursor:
            cursor.cursor.executemany(sql, (tuple(map(_sqlite_value, row)) for row in rows))

    def finish(self, ids: _Ids) -> None:
        pass


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def _analyze() -> None:
    """Statistics for the tables the seed filled. On PostgreSQL an empty table is left
    unanalysed, as on a new desk: analysed while empty, it stays "empty" to the planner until
    autovacuum analyses it again, and a plan cached meanwhile reads it whole (storing an
    e-mail took 3 ms at 6,000 messages in the inbound table, growing with every one)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("ANALYZE")
            return
        for table in filled_tables(cursor):
            cursor.execute(f"ANALYZE {table}")


# --- Knowledge-base articles -------------------------------------------------------------------


def _articles(options, rng, directory: Directory, report: SeedReport, progress) -> None:
    """Published articles from the same templates, if the knowledge base is installed."""
    try:
        from firstline.kb.models import Article
    except ImportError:
        report.notes.append("no knowledge base (firstline.kb.models.Article): no articles")
        return
    render = _article_renderer()
    author = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    now = clock.now()
    articles = []
    for i in range(options.articles):
        zh = rng.random() < ZH_SHARE
        template = rng.choice(texts.ZH_ISSUES if zh else texts.EN_ISSUES)
        words = {k: rng.choice(v) for k, v in texts.VOCABULARY.items()}
        title = rng.choice(template.subjects).format_map(words)
        body = _article_body(template, words, zh)
        moment = now - timedelta(days=DAYS * rng.random())
        articles.append(
            Article(
                title=title[:255],
                body=body,
                body_html=render(body),
                category_id=directory.categories[template.category],
                language="zh-hans" if zh else "en",
                visibility="public" if i % 3 else "internal",
                status="published",
                author=author,
                created_at=moment,
                updated_at=moment,
                published_at=moment,
            )
        )
    Article.objects.bulk_create(articles, batch_size=2000)
    _first_revisions(articles)
    report.counts["articles"] = len(articles)
    progress(f"{len(articles):,} articles")


def _first_revisions(articles: list) -> None:
    """Each article's history starts with its first revision, as the knowledge base keeps it."""
    try:
        from firstline.kb.models import Revision
    except ImportError:
        return
    Revision.objects.bulk_create(
        (
            Revision(
                article_id=a.pk,
                number=1,
                title=a.title,
                body=a.body,
                author=a.author,
                created_at=a.created_at,
            )
            for a in articles
        ),
        batch_size=2000,
    )


def _article_body(template, words: dict, zh: bool) -> str:
    problem, fix = ("问题", "解决方法") if zh else ("Problem", "Solution")
    return (
        f"## {problem}\n\n{template.description.format_map(words)}\n\n"
        f"## {fix}\n\n{template.reply.format_map(words)}\n\n"
        f"{template.resolution.format_map(words)}\n"
    )


def _article_renderer() -> Callable[[str], str]:
    """The knowledge base's own Markdown rendering if it offers one, else escaped paragraphs."""
    from django.utils.html import escape

    try:
        from firstline.kb.rendering import render_markdown

        return render_markdown
    except ImportError:
        return lambda body: "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n") if p)
