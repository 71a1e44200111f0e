"""Inbound e-mail: generated messages pushed to `POST /api/v1/channels/email/inbound` and turned
into threaded tickets by `firstline worker` processes, on a throwaway copy of the seeded data
set (`firstline bench_seed --tickets N` with its search index, 1,000,000 tickets unless
--tickets says otherwise; 0: an empty database).

Two figures: the HTTP intake rate (messages/s answered 202 by the endpoint, sent from a few
concurrent connections) and the end-to-end rate (messages/s from the first POST
until no InboundMessage is left "received"). Where the time went: CPU seconds of the server,
the workers, PostgreSQL's backends for the run's database, the clients and the whole machine
(others' processes too), how long the workers waited for a CPU, and every second the messages
stored and processed so far (Linux /proc; the machine is shared, so these say more than the
rates do). Then it checks that everything arrived, nothing
was quarantined and every reply landed on its thread's ticket, and profiles the processing of
300 messages in-process as a worker's task does (inbound.process_waiting: claimed in batches,
no task queue; cProfile, top functions by cumulative time).

The messages are generated with a fixed seed: plain text, HTML-only, multipart/alternative,
some with a small attachment; about a quarter are replies (In-Reply-To an earlier message of
the run, from the same sender), about a fifth are Chinese (UTF-8, GB18030, and GB18030 bytes
labelled "GB2312" as Chinese Outlook sends them), and about 1% are auto-replies
(Auto-Submitted: auto-replied), half of them referencing an earlier message.

Usage: .venv/bin/python bench/email_ingest.py [--messages N] [--postgres] [--workers W]
                                               [--clients C] [--web-workers P]
                                               [--pg-database NAME] [--tickets N]
"""

import argparse
import base64
import collections
import html
import http.client
import itertools
import json
import os
import quopri
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from common import (
    FIRSTLINE,
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
    tree_waiting,
    wait_healthy,
)

HOST = "127.0.0.1"
PG_DATABASE = "firstline_bench_email"  # --pg-database names another (a throwaway, dropped)


def pg_url(database: str = PG_DATABASE) -> str:
    return f"postgres://postgres@{HOST}:5432/{database}"


MAILBOX = "support@firstline.test"
TARGET_PER_S = 300  # end-to-end, from the issue
SEED = 20261127
LAG = 32  # a reply answers a message sent at least this many messages earlier
PROFILE_MESSAGES = 300  # processed in-process under cProfile
INTAKE_ALONE = 1000  # POSTed again after the run with the workers stopped
TIMED_MESSAGES = 300  # processed in-process without the profiler, for a clean figure
STARTUP_TIMEOUT = 60.0
STALL_TIMEOUT = 180.0  # drain fails when nothing was processed for this long
POST_ATTEMPTS = 5  # the endpoint says "on any other answer, send again", as an MTA would
SERVE_COMMAND = ROOT / "src" / "firstline" / "core" / "management" / "commands" / "serve.py"


def inbound_setting(name: str) -> str:
    """A constant of firstline.channels.inbound (BATCH_SIZE...), read without loading Django."""
    source = (ROOT / "src" / "firstline" / "channels" / "inbound.py").read_text()
    found = re.search(rf"^{name} = ([^#\n]+)", source, re.MULTILINE)
    return found[1].strip() if found else "?"


def server_command(port: int, web_workers: int, web_threads: int) -> tuple[list[str], str]:
    """`firstline serve` (the production server: gunicorn, several processes) when this checkout
    has it, else Django's runserver; and how the results describe it."""
    if SERVE_COMMAND.exists():
        cmd = [FIRSTLINE, "serve", "--bind", HOST, "--port", str(port), "--no-collectstatic"]
        cmd += ["--workers", str(web_workers), "--threads", str(web_threads)]
        text = f"firstline serve (gunicorn, {web_workers} worker processes"
        if web_threads > 1:
            text += f" x {web_threads} threads, HTTP/1.1 keep-alive)"
        else:
            text += ", one request at a time each, a connection per request)"
        return cmd, text
    text = "Django runserver --noreload (threaded: one thread per connection, HTTP/1.1 keep-alive)"
    return [FIRSTLINE, "runserver", "--noreload", f"{HOST}:{port}"], text


SETUP = f"""
import django
django.setup()
from firstline.accounts.models import Role
from firstline.accounts.services import (
    add_organization_domain, create_group, create_organization, create_user,
)
from firstline.channels.services import create_mailbox
acme = create_organization(actor=None, slug="acme", name="Acme Trading Ltd")
globex = create_organization(actor=None, slug="globex", name="Globex 环球贸易")
add_organization_domain(actor=None, organization=acme, domain="acme.test")
add_organization_domain(actor=None, organization=globex, domain="globex.test")
agent = create_user(actor=None, username="bench-agent", email="agent@firstline.test",
                    role=Role.AGENT)
desk = create_group(actor=None, slug="service-desk", name="Service desk", members=[agent])
print("TOKEN", create_mailbox(actor=None, address="{MAILBOX}", name="Support", group=desk)[1])
"""

# The largest primary key of each table whose new rows the run counts (0 when empty).
BASELINE = """
import json
import django
django.setup()
from django.db.models import Max
from firstline.accounts.models import User
from firstline.tickets.models import Attachment, Comment, Ticket
print("BASELINE " + json.dumps({
    model.__name__: model.objects.aggregate(last=Max("pk"))["last"] or 0
    for model in (Ticket, Comment, Attachment, User)
}))
"""

VERIFY = """
import json
import sys
import django
django.setup()
from django.db.models import Count, Max
from django_tasks_db.models import DBTaskResult
from firstline.accounts.models import User
from firstline.channels.models import InboundMessage, OutboundMessage
from firstline.tickets.models import Attachment, Comment, Ticket

def counts(queryset, field):
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())

messages = InboundMessage.objects.defer("raw")
last_processed = messages.aggregate(last=Max("processed_at"))["last"]
failed = DBTaskResult.objects.filter(status="FAILED")
before = json.loads(sys.argv[1])

def new(model):
    return model.objects.filter(pk__gt=before[model.__name__]).count()

print("VERIFY " + json.dumps({
    "messages": list(messages.values_list("message_id", "status", "result", "ticket_id")),
    "errors": list(messages.exclude(error="").values_list("pk", "error")[:20]),
    "by_status": counts(messages, "status"),
    "by_result": counts(messages, "result"),
    "last_processed": last_processed.timestamp() if last_processed else None,
    "processed_times": sorted(
        t.timestamp() for t in messages.exclude(processed_at=None).values_list(
            "processed_at", flat=True)
    ),
    "tickets": new(Ticket),
    "comments": new(Comment),
    "attachments": new(Attachment),
    "users": new(User),
    "outbox": counts(OutboundMessage.objects.all(), "status"),
    "tasks": counts(DBTaskResult.objects.all(), "status"),
    "failed_tasks": [
        [t.task_path, t.exception_class_path, t.traceback[-600:]] for t in failed[:5]
    ],
}))
"""

PROFILE = """
import cProfile, pstats, sys, time
from pathlib import Path
import django
django.setup()
from django.db import connection
from firstline.channels import inbound
from firstline.channels.models import InboundMessage, Mailbox

files = sorted(Path(sys.argv[1]).glob("*.eml"))
timed, profiled = int(sys.argv[2]), int(sys.argv[3])
mailbox = Mailbox.objects.get()

def receive(chunk):
    for f in chunk:
        inbound.receive_message(mailbox=mailbox, raw=f.read_bytes(), source="http")

# What a worker's task does: claim batches of waiting messages and process them.
receive(files[:timed])
queries = []
with connection.execute_wrapper(lambda execute, *a: queries.append(1) or execute(*a)):
    began = time.perf_counter()
    done = inbound.process_waiting(budget=1e9)
    elapsed = time.perf_counter() - began
print(f"TIMED {done} {elapsed:.4f} {len(queries)}")
receive(files[timed:timed + profiled])
profiler = cProfile.Profile()
began = time.perf_counter()
profiler.enable()
done = inbound.process_waiting(budget=1e9)
profiler.disable()
total = time.perf_counter() - began
print(f"PROFILED {done} {total:.4f}")
results = InboundMessage.objects.values_list("result", flat=True).distinct()
print("RESULTS " + " ".join(sorted(set(results))))
stats = pstats.Stats(profiler)
prefixes = [p for p in sys.path if p.endswith("site-packages")] + [str(Path.cwd() / "src")]
prefixes += [p for p in sys.path if p.endswith("/python3.11")]

def where(func):
    path, line, name = func
    for prefix in prefixes:
        path = path.removeprefix(prefix + "/")
    return f"{path}:{line}({name})" if line else name

def rows(key, count, label):
    ranked = sorted(stats.stats.items(), key=lambda item: -item[1][key])
    shown = [(f, v) for f, v in ranked if f[0] != "<string>" and "disable" not in f[2]]
    for func, (calls, primitive, own, cumulative, _) in shown[:count]:
        print(f"{label} {cumulative:9.3f} {own:8.3f} {calls:8d}  {where(func)}")

rows(3, 15, "TOP")
rows(2, 10, "OWN")
watched = {
    ("channels/parsing.py", "parse_message"), ("channels/thread_matching.py", "find_ticket"),
    ("channels/inbound.py", "_claim"), ("channels/inbound.py", "_take"),
    ("channels/inbound.py", "_sender"), ("channels/inbound.py", "_remember"),
    ("channels/inbound.py", "_create"), ("channels/inbound.py", "_append"),
    ("channels/inbound.py", "_finish"), ("tickets/services.py", "create_ticket"),
    ("tickets/services.py", "add_comment"), ("channels/notifications.py", "acknowledge"),
    ("channels/outbound.py", "queue"), ("tickets/services.py", "add_participants"),
    ("tickets/services.py", "add_attachment"), ("tasks/base.py", "enqueue"),
    ("sla/receivers.py", "start_clock"), ("automation/engine.py", "process"),
    ("django/db/transaction.py", "__exit__"),
}
for func, (calls, primitive, own, cumulative, _) in stats.stats.items():
    if any(func[0].endswith(path) and func[2] == name for path, name in watched):
        print(f"SHARE {100 * cumulative / total:5.1f}% {cumulative:8.3f} {calls:6d}  {where(func)}")
"""

# --- Generated mail ------------------------------------------------------------------------------

EN_FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty",
]  # fmt: skip
EN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
]  # fmt: skip
ZH_SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
]  # fmt: skip
ZH_GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("秀英", "xiuying"),
    ("志明", "zhiming"),
]  # fmt: skip
EN_DOMAINS = ["acme.test", "acme.test", "globex.test", "example.com", "example.net"]
ZH_DOMAINS = ["globex.test", "globex.test", "acme.test", "mail.example.cn"]

EN_SUBJECTS = [
    "Cannot log in to VPN from home", "Outlook keeps asking for my password",
    "Printer on 3rd floor shows paper jam", "Request: new laptop for incoming hire",
    "Shared drive S: not mapped after reboot", "Teams calls drop after five minutes",
    "Password reset for the finance portal", "Wi-Fi in building B is very slow",
    "Monitor flickers when docked", "Access to the sales SharePoint site",
    "Phone extension 4411 has no dial tone", "Excel crashes when opening the budget file",
    "Please install Visio on my PC", "Blue screen after Windows update",
    "Mailbox almost full - can you increase the quota?", "Badge reader at the side entrance",
]  # fmt: skip
ZH_SUBJECTS = [
    "打印机无法连接", "无法登录企业邮箱", "请为新同事开通ERP账号", "会议室投影仪没有信号",
    "电脑开机很慢，经常死机", "VPN 连接不上，提示证书错误", "申请安装财务软件",
    "共享文件夹打不开", "邮箱容量已满，请扩容", "显示器闪屏", "Outlook 一直提示输入密码",
    "无线网络信号很差",
]  # fmt: skip
EN_PARAS = [
    "Since this morning it fails with an error message. I restarted twice, no change.",
    "It worked fine yesterday afternoon. Nothing was installed in between as far as I know.",
    "Colleagues next to me have the same problem, so it may not be my machine only.",
    "The error says: 'The operation could not be completed (0x80070005)'.",
    "This is blocking our month-end closing, so I would appreciate a quick look.",
    "I can come by the IT desk at any time today, or you can connect remotely.",
    "My computer name is ACME-LT-0412 and I sit on the 3rd floor, room 3.17.",
    "I have attached what I see on the screen, in case it helps.",
    "Could you please also check whether my account is locked?",
    "We have a customer visit on Thursday and need this working before then.",
]
ZH_PARAS = [
    "从今天早上开始就出现这个问题，重启了两次还是不行，麻烦尽快处理，谢谢！",
    "昨天下午还是正常的，期间没有安装任何软件。",
    "旁边几位同事也有同样的问题，可能不是我电脑的原因。",
    "错误提示为：“操作无法完成（0x80070005）”。",
    "这个问题影响了月底结账，请帮忙优先处理。",
    "我今天都在座位上，也可以远程协助。我的分机号是 6023。",
    "电脑编号是 GLX-PC-2281，在三楼财务部。",
    "截图已附上，请查收。",
    "另外请帮忙确认一下我的账号是否被锁定了？",
]
EN_REPLIES = [
    "Thanks, it works again now.",
    "Unfortunately the problem is back since an hour ago.",
    "I tried what you suggested but I still get the same error.",
    "Any news on this? It is still not working.",
    "Here is the additional information you asked for: it happens on both Wi-Fi and cable.",
    "I will be out tomorrow, please call my mobile if you need me.",
]
ZH_REPLIES = [
    "谢谢，现在已经可以正常使用了。",
    "问题又出现了，一个小时前开始的。",
    "按照你们说的方法试了，还是一样的错误。",
    "请问这个问题有进展吗？还是不能用。",
    "补充一下：有线和无线网络都有这个问题。",
]
EN_SIGNATURE = "--\n{name}\nAcme Trading Ltd | +44 20 7946 0{n:03d}"
ZH_SIGNATURE = "--\n{name}\n环球贸易 财务部 | 电话 021-5555-{n:04d}"


@dataclass(frozen=True)
class Sender:
    name: str
    address: str
    chinese: bool


@dataclass
class Mail:
    index: int
    kind: str  # "new", "reply" or "auto"
    message_id: str  # without <>
    sender: Sender
    subject: str
    text: str
    root: str | None  # Message-ID of the message that opened the thread, for replies
    references: list[str]
    raw: bytes = b""


def make_senders(rng: random.Random, count: int = 500) -> list[Sender]:
    """~500 distinct people; one in five writes Chinese."""
    senders, seen = [], set()
    while len(senders) < count:
        n = len(senders)
        if n % 5 == 4:
            (surname, s_py), (given, g_py) = rng.choice(ZH_SURNAMES), rng.choice(ZH_GIVEN)
            name, local, domain = surname + given, f"{s_py}.{g_py}", rng.choice(ZH_DOMAINS)
        else:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            name, local, domain = (
                f"{first} {last}",
                f"{first}.{last}".lower(),
                rng.choice(EN_DOMAINS),
            )
        address = f"{local}@{domain}"
        if address in seen:
            address = f"{local}{n}@{domain}"
        seen.add(address)
        senders.append(Sender(name, address, n % 5 == 4))
    return senders


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _encoded_words(text: str, label: str, codec: str) -> str:
    """RFC 2047 B-encoded words, split between characters so each fits in a header line."""
    if text.isascii():
        return text
    words = []
    for start in range(0, len(text), 12):
        data = base64.b64encode(text[start : start + 12].encode(codec)).decode()
        words.append(f"=?{label}?B?{data}?=")
    return "\r\n ".join(words)


def _address(sender: Sender, label: str, codec: str) -> str:
    if sender.name.isascii():
        return f'"{sender.name}" <{sender.address}>'
    return f"{_encoded_words(sender.name, label, codec)} <{sender.address}>"


def _leaf(ctype: str, text: str, charset: str, cte: str) -> bytes:
    """One text part: its headers and body, encoded the way real mailers do."""
    data = text.encode(charset)
    if data.isascii() and cte in ("8bit", "quoted-printable"):
        cte = "7bit"
    if cte == "base64":
        body = base64.encodebytes(data)
    elif cte == "quoted-printable":
        body = quopri.encodestring(data)
    else:
        body = data + b"\n"
    head = f'Content-Type: {ctype}; charset="{charset}"\nContent-Transfer-Encoding: {cte}\n\n'
    return _crlf(head.encode() + body)


def _attachment(rng: random.Random, chinese: bool) -> bytes:
    """A small file: a fake screenshot or a log excerpt, base64 as every mailer sends them."""
    if rng.random() < 0.6:
        ctype = "image/png"
        name = "报错截图.png" if chinese else "screenshot.png"
        data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randrange(1500, 6000))
    else:
        ctype = "text/plain"
        name = "错误日志.txt" if chinese else "error.log"
        lines = [
            f"2026-11-{rng.randrange(1, 28):02d} 09:{m:02d}:17 ERROR 0x80070005" for m in range(40)
        ]
        data = "\n".join(lines).encode()
    if name.isascii():
        disposition = f'attachment; filename="{name}"'
    else:
        disposition = f"attachment; filename*=utf-8''{urllib.parse.quote(name)}"
    head = (
        f'Content-Type: {ctype}; name="{name if name.isascii() else "attachment"}"\n'
        f"Content-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\n"
    )
    return _crlf(head.encode() + base64.encodebytes(data))


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    out.append(b"This is a multi-part message in MIME format.\r\n")
    for part in parts:
        out.append(f"--{boundary}\r\n".encode() + part + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _html(text: str) -> str:
    paragraphs = []
    for block in text.split("\n\n"):
        if block.startswith(">"):
            inner = "<br>".join(html.escape(line.lstrip("> ")) for line in block.split("\n"))
            paragraphs.append(f'<blockquote style="margin-left:1em">{inner}</blockquote>')
        else:
            inner = "<br>".join(html.escape(line) for line in block.split("\n"))
            paragraphs.append(f'<p style="font-family:Calibri">{inner}</p>')
    return (
        '<html><head><meta charset="utf-8"><style>p{margin:0}</style></head>'
        f"<body>{''.join(paragraphs)}</body></html>"
    )


def render(mail: Mail, rng: random.Random, date: datetime) -> bytes:
    """The raw RFC 5322 bytes of `mail`, with a randomly chosen but realistic structure."""
    chinese = mail.sender.chinese
    if chinese:
        charset = rng.choice(["utf-8", "utf-8", "gb18030", "gb18030", "gb2312"])
        codec = "gb18030" if charset == "gb2312" else charset  # "GB2312" labels hold GBK bytes
        cte = rng.choice(["base64", "8bit"])
    else:
        charset = codec = "utf-8"
        cte = rng.choice(["7bit", "quoted-printable"])

    def leaf(ctype: str, text: str) -> bytes:
        return _leaf(ctype, text, codec, cte).replace(
            f'charset="{codec}"'.encode(), f'charset="{charset}"'.encode()
        )

    shape = rng.random()
    if shape < 0.45:
        body = leaf("text/plain", mail.text)
    elif shape < 0.6:
        body = leaf("text/html", _html(mail.text))
    else:
        boundary = f"----=_Alt_{mail.index:05d}_{rng.getrandbits(32):08x}"
        parts = [leaf("text/plain", mail.text), leaf("text/html", _html(mail.text))]
        body = _multipart("alternative", parts, boundary)
    if mail.kind != "auto" and rng.random() < 0.08:
        boundary = f"----=_Mixed_{mail.index:05d}_{rng.getrandbits(32):08x}"
        body = _multipart("mixed", [body, _attachment(rng, chinese)], boundary)

    domain = mail.sender.address.rpartition("@")[2]
    headers = [
        f"Received: from mx.{domain} (mx.{domain} [192.0.2.{mail.index % 250 + 1}])\r\n"
        f"\tby mail.firstline.test with ESMTPS id {rng.getrandbits(40):010x}\r\n"
        f"\tfor <{MAILBOX}>; {format_datetime(date)}",
        f"Date: {format_datetime(date)}",
        f"From: {_address(mail.sender, charset, codec)}",
        f"To: Support <{MAILBOX}>",
        f"Subject: {_encoded_words(mail.subject, charset, codec)}",
        f"Message-ID: <{mail.message_id}>",
        "MIME-Version: 1.0",
    ]
    if mail.references:
        headers.append(f"In-Reply-To: <{mail.references[-1]}>")
        headers.append("References: " + "\r\n ".join(f"<{r}>" for r in mail.references[-10:]))
    if mail.kind == "auto":
        headers.append("Auto-Submitted: auto-replied")
        headers.append("X-Auto-Response-Suppress: All")
    elif rng.random() < 0.1:
        colleague = f"colleague{rng.randrange(100)}@{domain}"
        headers.append(f"Cc: {colleague}")
    headers.append(f"X-Mailer: {rng.choice(['Microsoft Outlook 16.0', 'Foxmail 7.2', 'Mutt/2.2'])}")
    # The body starts with its own Content-* lines, which end the header block.
    return "\r\n".join(headers).encode("ascii") + b"\r\n" + body


def _new_text(rng: random.Random, sender: Sender, n: int) -> str:
    paras = ZH_PARAS if sender.chinese else EN_PARAS
    greeting = "你好，" if sender.chinese else "Hello,"
    body = "\n".join(rng.sample(paras, rng.randrange(2, 5)))
    signature = (ZH_SIGNATURE if sender.chinese else EN_SIGNATURE).format(name=sender.name, n=n)
    return f"{greeting}\n\n{body}\n\n{signature}"


def _reply_text(rng: random.Random, sender: Sender, quoted: Mail, date: datetime) -> str:
    answer = rng.choice(ZH_REPLIES if sender.chinese else EN_REPLIES)
    if sender.chinese:
        attribution = f"在 {date:%Y年%m月%d日 %H:%M}，{quoted.sender.name} 写道："
    else:
        attribution = f"On {format_datetime(date)}, {quoted.sender.name} wrote:"
    lines = [line for line in quoted.text.split("\n") if line.strip()][:6]
    quote = "\n".join("> " + line for line in lines)
    return f"{answer}\n\n{attribution}\n{quote}"


def generate(count: int, seed: int = SEED) -> list[Mail]:
    """`count` messages; the first k of generate(n) are the same for every n >= k."""
    rng = random.Random(seed)
    senders = make_senders(rng)
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    mails: list[Mail] = []
    threadable: list[Mail] = []  # messages a later one may answer, in order
    eligible = 0  # how many of `threadable` are at least LAG messages back
    for i in range(count):
        while eligible < len(threadable) and threadable[eligible].index <= i - LAG:
            eligible += 1
        date = start + timedelta(seconds=23 * i)
        roll = rng.random() if eligible else 1.0
        if roll < 0.26:
            target = threadable[rng.randrange(max(0, eligible - 400), eligible)]
            root = target.root or target.message_id
            references = [*target.references, target.message_id]
            sender = target.sender
            if roll < 0.01:
                kind, root_ref = "auto", rng.random() < 0.5
                prefix = "自动回复: " if sender.chinese else "Automatic reply: "
                text = (
                    "我目前不在办公室，将于下周一回来。"
                    if sender.chinese
                    else ("I am out of the office until Monday with limited access to e-mail.")
                )
                if not root_ref:
                    references, root = [], None
            else:
                kind, prefix = "reply", "回复: " if sender.chinese else "Re: "
                text = _reply_text(rng, sender, target, date - timedelta(hours=2))
            subject = prefix + _root_subject(target)
        else:
            kind, root, references = "new", None, []
            sender = rng.choice(senders)
            subject = rng.choice(ZH_SUBJECTS if sender.chinese else EN_SUBJECTS)
            text = _new_text(rng, sender, i)
        domain = sender.address.rpartition("@")[2]
        message_id = f"{i:05d}.{rng.getrandbits(48):012x}@{domain}"
        mail = Mail(i, kind, message_id, sender, subject, text, root, references)
        mail.raw = render(mail, rng, date)
        mails.append(mail)
        if kind != "auto":
            threadable.append(mail)
    return mails


def _root_subject(mail: Mail) -> str:
    for prefix in ("Re: ", "回复: "):
        if mail.subject.startswith(prefix):
            return mail.subject[len(prefix) :]
    return mail.subject


# --- Processes -----------------------------------------------------------------------------------


def sqlite_file(workdir: Path) -> Path:
    return workdir / "bench.sqlite3"  # where common.seeded_database puts its copy


def child_env(data_dir: Path, postgres: str | None) -> dict:
    env = dict(os.environ, FIRSTLINE_DATA_DIR=str(data_dir), DEBUG="false", LOG_LEVEL="WARNING")
    env.update(SECRET_KEY="bench-only-secret-key-" + "x" * 40, ALLOWED_HOSTS=HOST)
    env.update(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    env["DJANGO_SETTINGS_MODULE"] = "firstline.settings"
    for name in ("DATABASE_URL", "TASKS_BACKEND_CLASS", "MEDIA_ROOT"):
        env.pop(name, None)
    env["DATABASE_URL"] = pg_url(postgres) if postgres else f"sqlite:///{sqlite_file(data_dir)}"
    return env


def run_python(code: str, env: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [PYTHON, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"Child script failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}"
        )
    return done.stdout.decode()


def prepare_database(env: dict) -> str:
    """Migrates and creates the organizations, the desk and the mailbox; returns its token."""
    subprocess.run(
        [FIRSTLINE, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300
    )
    out = run_python(SETUP, env, timeout=120)
    tokens = [line.split()[1] for line in out.splitlines() if line.startswith("TOKEN ")]
    if not tokens:
        raise RuntimeError(f"Setup printed no token:\n{out}")
    return tokens[-1]


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # started before the client threads
        )


def wait_workers(workers: list[subprocess.Popen], logs: list[Path]) -> None:
    """Until every worker has logged that it started (they then sleep up to 1 s at random)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        for worker, log in zip(workers, logs, strict=True):
            if worker.poll() is not None:
                raise RuntimeError(f"Worker exited with {worker.returncode}:\n{tail(log)}")
        if all("Starting worker" in log.read_text(errors="replace") for log in logs):
            time.sleep(1.1)
            return
        time.sleep(0.2)
    raise RuntimeError(f"Workers did not start within {STARTUP_TIMEOUT:.0f}s:\n{tail(logs[0])}")


class Database:
    """A plain connection from this process, to watch the queue drain without Django."""

    def __init__(self, postgres: str | None, workdir: Path):
        self.database = postgres
        if postgres:
            import psycopg

            self.conn = psycopg.connect(pg_url(postgres), autocommit=True, connect_timeout=5)
        else:
            import sqlite3

            self.conn = sqlite3.connect(sqlite_file(workdir), timeout=20, isolation_level=None)

    def counts(self) -> tuple[int, int]:
        """(stored messages, messages still "received"), asked twice a second: the highest
        number (messages are numbered as they are stored, and none is deleted here) and a
        count along the waiting messages' index. Counting every stored message instead read
        the whole table each time (9 ms at 10,000 on PostgreSQL): CPU this process took
        from what it measures."""
        row = self.conn.execute(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM channels_inboundmessage),"
            " (SELECT COUNT(*) FROM channels_inboundmessage WHERE status = 'received')"
        ).fetchone()
        return int(row[0]), int(row[1])

    def close(self) -> None:
        self.conn.close()


# --- Where the CPU time goes (Linux /proc; elsewhere the figures are zero) ----------------------


class CpuMeter:
    """CPU seconds spent by the web server, the workers, PostgreSQL's backends serving the
    benchmark's database, and this process (the HTTP clients), between two readings."""

    def __init__(self, server, workers, db: "Database"):
        self.server, self.workers, self.db = server, workers, db

    def read(self) -> dict:
        backends = pg_backend_cpu(self.db.conn, self.db.database) if self.db.database else {}
        return {
            "server": tree_cpu(self.server.pid),
            "workers": sum(tree_cpu(w.pid) for w in self.workers),
            "postgres": backends,  # per backend: one that started since counts from zero
            "client": time.process_time(),
            "machine": machine_busy(),
            "workers_waited": sum(tree_waiting(w.pid) for w in self.workers),
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        names = ("server", "workers", "client", "machine", "workers_waited")
        spent = {k: after[k] - before[k] for k in names}
        spent["postgres"] = cpu_spent(before["postgres"], after["postgres"])
        return {k: round(v, 2) for k, v in spent.items()}


class Progress(threading.Thread):
    """Every `interval` seconds: (seconds since start, stored, processed), from its own
    connection, to show how intake and processing overlap."""

    def __init__(self, database: str | None, workdir: Path, interval: float = 1.0):
        super().__init__(name="progress", daemon=True)
        self.database, self.workdir, self.interval = database, workdir, interval
        self.samples: list[tuple[float, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        db, began = Database(self.database, self.workdir), time.perf_counter()
        try:
            while not self.stop.wait(self.interval):
                stored, received = db.counts()
                seconds = round(time.perf_counter() - began, 1)
                self.samples.append((seconds, stored, stored - received))
        finally:
            db.close()


# --- The client ----------------------------------------------------------------------------------


@dataclass
class Intake:
    latencies: list[float]
    connects: int
    non_202: collections.Counter
    connection_errors: int
    seconds: float
    started_at: float  # time.time() of the first POST


def post_all(port: int, token: str, mails: list[Mail], clients: int) -> Intake:
    """Each client thread takes the next message and POSTs it on its own connection (kept alive
    while the server keeps it).
    A reply is sent only once the message it answers was accepted (202), as people answer mail
    that arrived: a slow POST cannot let a reply overtake its original."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}
    counter, lock = itertools.count(), threading.Lock()
    accepted = {mail.message_id: threading.Event() for mail in mails}
    latencies: list[float] = []
    non_202: collections.Counter = collections.Counter()
    stats = {"connects": 0, "connection_errors": 0}
    failures: list[str] = []

    def send(conn: http.client.HTTPConnection, mail: Mail) -> float:
        for attempt in range(1, POST_ATTEMPTS + 1):
            with lock:
                stats["connects"] += conn.sock is None
            began = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/channels/email/inbound", mail.raw, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    stats["connection_errors"] += 1
                if attempt == POST_ATTEMPTS:
                    raise RuntimeError(f"message {mail.index}: {exc!r}") from exc
                continue
            elapsed = time.perf_counter() - began
            if response.status == 202:
                return elapsed
            with lock:
                non_202[response.status] += 1
            if attempt == POST_ATTEMPTS:
                raise RuntimeError(
                    f"message {mail.index}: HTTP {response.status}: {payload[:300]!r}"
                )
            time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine = []
        try:
            while not failures:
                with lock:
                    i = next(counter)
                if i >= len(mails):
                    break
                answered = accepted.get(mails[i].references[-1]) if mails[i].references else None
                if answered is not None and not answered.wait(timeout=120):
                    raise RuntimeError(f"message {i}: the message it answers was never accepted")
                mine.append(send(conn, mails[i]))
                accepted[mails[i].message_id].set()
        except Exception as exc:
            failures.append(str(exc))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [
        threading.Thread(target=client, name=f"client-{n}", daemon=True) for n in range(clients)
    ]
    started_at, began = time.time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if failures:
        raise RuntimeError("POSTs failed: " + "; ".join(failures[:3]))
    return Intake(
        latencies, stats["connects"], non_202, stats["connection_errors"], seconds, started_at
    )


def wait_drained(db: Database, expected: int, workers, logs: list[Path]) -> float:
    """Until all `expected` messages are stored and none is "received"; fails when nothing moved
    for STALL_TIMEOUT seconds or a worker died. Returns time.time() when it saw the end."""
    last_change, last_state = time.monotonic(), None
    while True:
        stored, received = db.counts()
        if stored >= expected and received == 0:
            return time.time()
        if (stored, received) != last_state:
            last_state, last_change = (stored, received), time.monotonic()
        elif time.monotonic() - last_change > STALL_TIMEOUT:
            raise RuntimeError(
                f"No progress for {STALL_TIMEOUT:.0f}s: {stored} stored, {received} still"
                f" received.\nWorker log:\n{tail(logs[0])}"
            )
        for worker, log in zip(workers, logs, strict=True):
            if worker.poll() is not None:
                raise RuntimeError(f"A worker exited with {worker.returncode}:\n{tail(log)}")
        time.sleep(0.25)


# --- Checks and the profile ----------------------------------------------------------------------


def check(mails: list[Mail], found: dict) -> tuple[list[str], dict]:
    """Problems found (empty when all is well) and the expected counts."""
    problems = []
    by_id = {row[0]: row for row in found["messages"]}
    expected = collections.Counter(m.kind for m in mails)
    if len(found["messages"]) != len(mails):
        problems.append(f"{len(found['messages'])} InboundMessage rows for {len(mails)} sent")
    if found["by_status"].get("quarantined"):
        problems.append(f"{found['by_status']['quarantined']} quarantined")
    if found["by_status"].get("received"):
        problems.append(f"{found['by_status']['received']} still received")
    for error in found["errors"]:
        problems.append(f"message {error[0]}: {error[1][:300]}")
    results = found["by_result"]
    for kind, result in (("new", "created"), ("reply", "appended"), ("auto", "auto_reply")):
        if results.get(result, 0) != expected[kind]:
            problems.append(f"{results.get(result, 0)} {result}, expected {expected[kind]}")
    missing, wrong, examples = 0, 0, []
    for mail in mails:
        row = by_id.get(mail.message_id)
        if row is None:
            missing += 1
            continue
        if mail.root is None:
            continue
        root = by_id.get(mail.root)
        if root is None or row[3] is None or row[3] != root[3]:
            wrong += 1
            if len(examples) < 3:
                examples.append(
                    f"#{mail.index} ({mail.kind}) on ticket {row[3]}, thread on"
                    f" {root[3] if root else None}"
                )
    if missing:
        problems.append(f"{missing} sent messages not found by Message-ID")
    if wrong:
        problems.append(f"{wrong} replies not on their thread's ticket: " + "; ".join(examples))
    if found["tickets"] != expected["new"]:
        problems.append(f"{found['tickets']} tickets, expected {expected['new']}")
    for task in found["failed_tasks"]:
        problems.append(f"failed task {task[0]}: {task[1]}\n{task[2]}")
    return problems, dict(expected)


def profile(env: dict, mails: list[Mail], workdir: Path) -> dict:
    """Processes fresh messages in one process, without the task queue: TIMED_MESSAGES without
    the profiler (the clean in-process rate), then PROFILE_MESSAGES under cProfile."""
    folder = workdir / "profile"
    folder.mkdir()
    for mail in mails:
        (folder / f"{mail.index:06d}.eml").write_bytes(mail.raw)
    out = run_python(
        PROFILE, env, str(folder), str(TIMED_MESSAGES), str(PROFILE_MESSAGES), timeout=900
    )
    lines = out.splitlines()
    timed = next(line.split() for line in lines if line.startswith("TIMED "))
    profiled = next(line.split() for line in lines if line.startswith("PROFILED "))
    return {
        "inprocess_per_s": round(int(timed[1]) / float(timed[2]), 1),
        "queries_per_message": round(int(timed[3]) / int(timed[1]), 1),
        "profiled_s": float(profiled[2]),
        "results": next(line[8:] for line in lines if line.startswith("RESULTS ")),
        "top": [line[4:] for line in lines if line.startswith("TOP ")],
        "own": [line[4:] for line in lines if line.startswith("OWN ")],
        "share": sorted(
            (line[6:] for line in lines if line.startswith("SHARE ")),
            key=lambda line: -float(line.split("%")[0]),
        ),
    }


def deciles(times: list[float], started_at: float) -> list[float]:
    """Messages/s over each tenth of the messages, in the order they were processed."""
    rates, previous = [], started_at
    for k in range(1, 11):
        chunk = times[(k - 1) * len(times) // 10 : k * len(times) // 10]
        if chunk:
            rates.append(round(len(chunk) / max(chunk[-1] - previous, 1e-6), 1))
            previous = chunk[-1]
    return rates


# --- The run -------------------------------------------------------------------------------------


def measure(args, workdir: Path) -> dict:
    alone = min(INTAKE_ALONE, args.messages)
    total = args.messages + alone + TIMED_MESSAGES + PROFILE_MESSAGES
    began = time.perf_counter()
    all_mails = generate(total)
    mails = all_mails[: args.messages]
    alone_mails = all_mails[args.messages : args.messages + alone]
    extra = all_mails[args.messages + alone :]
    print(
        f"Generated {total} messages in {time.perf_counter() - began:.1f}s"
        f" ({sum(len(m.raw) for m in mails) / len(mails) / 1024:.1f} KB average)",
        flush=True,
    )
    database = args.pg_database if args.postgres else None
    env = child_env(workdir, database)
    load_before = os.getloadavg()[0]
    token = prepare_database(env)
    baseline = next(
        line[9:] for line in run_python(BASELINE, env).splitlines() if line.startswith("BASELINE ")
    )
    port = free_port()
    server_log, worker_logs = (
        workdir / "server.log",
        [workdir / f"worker-{n}.log" for n in range(args.workers)],
    )
    server_cmd, server_text = server_command(port, args.web_workers, args.web_threads)
    server = start(server_cmd, env, server_log)
    workers: list[subprocess.Popen] = []
    db = None
    try:
        db = Database(database, workdir)
        wait_healthy(server, HOST, port, server_log, STARTUP_TIMEOUT)
        workers = [start([FIRSTLINE, "worker"], env, log) for log in worker_logs]
        wait_workers(workers, worker_logs)
        meter, progress = CpuMeter(server, workers, db), Progress(database, workdir)
        print(f"Posting {len(mails)} messages from {args.clients} clients...", flush=True)
        cpu_start = meter.read()
        progress.start()
        intake = post_all(port, token, mails, args.clients)
        cpu_intake = meter.read()
        print(f"Intake done in {intake.seconds:.1f}s; waiting for the workers...", flush=True)
        seen_done = wait_drained(db, len(mails), workers, worker_logs)
        cpu_end = meter.read()
        progress.stop.set()
        progress.join()
        for worker in workers:
            stop_process(worker)
        found = json.loads(
            next(
                line[7:]
                for line in run_python(VERIFY, env, baseline).splitlines()
                if line.startswith("VERIFY ")
            )
        )
        print(f"Posting {alone} more with the workers stopped (intake alone)...", flush=True)
        intake_alone = post_all(port, token, alone_mails, args.clients)
    finally:
        if db is not None:
            db.close()
        for worker in workers:
            stop_process(worker)
        stop_process(server)
    problems, expected = check(mails, found)
    # Messages a worker put back for a moment (a deadlock or lock timeout with the other one).
    retries = sum(
        log.read_text(errors="replace").count("will be tried again") for log in worker_logs
    )
    drained = (found["last_processed"] or seen_done) - intake.started_at
    print(
        f"Processed {len(mails)} messages {drained:.1f}s after the first POST"
        f" ({len(mails) / drained:.1f} msg/s end-to-end; intake {len(mails) / intake.seconds:.1f}"
        f" msg/s); checks: {'; '.join(problems) or 'passed'}",
        flush=True,
    )
    print(f"Profiling {PROFILE_MESSAGES} messages in-process...", flush=True)
    prof = profile(env, extra, workdir)
    e2e = drained  # first POST to the last processed_at the workers wrote
    cpu = {
        "intake": CpuMeter.spent(cpu_start, cpu_intake),
        "drain": CpuMeter.spent(cpu_intake, cpu_end),
        "all": CpuMeter.spent(cpu_start, cpu_end),
    }
    cpu_ms = {
        k: round(1000 * v / len(mails), 2) for k, v in cpu["all"].items() if k != "workers_waited"
    }
    timeline = deciles(found.pop("processed_times"), intake.started_at)
    e2e_per_s = round(len(mails) / e2e, 1)
    processing = (
        f"{args.workers} x `firstline worker` (django-tasks database queue, scheduler on); at most"
        f" one task per {inbound_setting('ENQUEUE_WINDOW')}s per web process, each claiming"
        f" batches of {inbound_setting('BATCH_SIZE')} messages, committed up to"
        f" {inbound_setting('GROUP_SIZE')} per transaction"
    )
    return {
        "benchmark": "email_ingest",
        "database": "postgresql" if args.postgres else "sqlite",
        "data": f"{args.tickets:,} seeded tickets with their search index ({args.made})"
        if args.tickets
        else "an empty database",
        "server": server_text,
        "client": (
            f"{args.clients} threads, one http.client connection each (kept alive while the"
            " server keeps it), POSTing"
            " message/rfc822 bodies while the workers run"
        ),
        "processing": processing,
        "messages": len(mails),
        "intake_per_s": round(len(mails) / intake.seconds, 1),
        **{f"intake_{k}": v for k, v in latency_figures(intake.latencies).items()},
        "intake_alone_messages": alone,
        "intake_alone_per_s": round(alone / intake_alone.seconds, 1),
        "intake_alone_median_ms": latency_figures(intake_alone.latencies)["median_ms"],
        "e2e_per_s": e2e_per_s,
        "target_per_s": TARGET_PER_S,
        "target_met": e2e_per_s >= TARGET_PER_S,
        "target": "yes" if e2e_per_s >= TARGET_PER_S else "NO",
        "intake_s": round(intake.seconds, 1),
        "e2e_s": round(e2e, 1),
        "e2e_timeline": timeline,
        "tcp_connects": intake.connects + intake_alone.connects,
        "http_non_202": dict(intake.non_202 + intake_alone.non_202),
        "connection_errors": intake.connection_errors + intake_alone.connection_errors,
        "by_result": found["by_result"],
        "by_status": found["by_status"],
        "expected": expected,
        "tickets": found["tickets"],
        "comments": found["comments"],
        "attachments": found["attachments"],
        "users": found["users"],
        "outbox": found["outbox"],
        "tasks": found["tasks"],
        "worker_retries": retries,
        "inprocess_per_s": prof["inprocess_per_s"],
        "queries_per_message": prof["queries_per_message"],
        "profile_results": prof["results"],
        "profile_top": prof["top"],
        "profile_own": prof["own"],
        "profile_share": prof["share"],
        "profiled_s": prof["profiled_s"],
        "cpu_seconds": cpu,
        "cpu_ms_per_message": cpu_ms,
        "progress": progress.samples,
        "problems": problems,
        "load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)",
    }


COLUMNS = [
    ("database", "database"),
    ("messages", "messages"),
    ("intake_per_s", "intake msg/s (HTTP 202)"),
    ("intake_median_ms", "POST median ms"),
    ("intake_alone_per_s", "intake msg/s, workers stopped"),
    ("e2e_per_s", "end-to-end msg/s"),
    ("target_per_s", "target msg/s"),
    ("target", "target met"),
    ("e2e_s", "end-to-end s"),
    ("inprocess_per_s", "in-process msg/s (1 proc, no queue)"),
    ("queries_per_message", "SQL queries/msg"),
    ("correct", "checks"),
]


def report(result: dict) -> None:
    print(f"\nServer: {result['server']}")
    print(f"Data: {result['data']}")
    print(f"Client: {result['client']}")
    print(f"Processing: {result['processing']}")
    print(f"Load average (1 min, whole machine): {result['load']}")
    print(format_table(COLUMNS, [result]))
    print(
        f"\nIntake: {result['messages']} messages in {result['intake_s']}s,"
        f" {result['tcp_connects']} TCP connects,"
        f" non-202 answers {result['http_non_202'] or 'none'},"
        f" connection errors {result['connection_errors']}; POST p95"
        f" {result['intake_p95_ms']} ms, p99 {result['intake_p99_ms']} ms"
    )
    verdict = "met" if result["target_met"] else "MISSED"
    print(
        f"End-to-end: {result['e2e_per_s']} msg/s against a target of {result['target_per_s']}"
        f" msg/s: target {verdict} ({result['e2e_s']}s from the first POST to the last message"
        " processed)"
    )
    print(f"End-to-end msg/s per tenth of the messages: {result['e2e_timeline']}")
    print(
        "CPU seconds (server = firstline serve, workers, postgres = its backends for this"
        " database, client = this process, machine = every process on the machine, others'"
        " too; workers_waited = seconds the workers were ready to run but waited for a CPU):"
        f" {result['cpu_seconds']}; per message, ms: {result['cpu_ms_per_message']}"
    )
    print(
        "Progress (seconds, stored, processed): "
        + " ".join(f"{t:g}:{a}/{b}" for t, a, b in result["progress"])
    )
    print(f"Results: {result['by_result']} (expected new/reply/auto: {result['expected']})")
    print(f"Statuses: {result['by_status']}")
    print(
        f"Tickets {result['tickets']}, comments {result['comments']}, attachments"
        f" {result['attachments']}, users {result['users']}, outbox {result['outbox']},"
        f" tasks {result['tasks']}; messages put back after a deadlock or lock timeout:"
        f" {result['worker_retries']}"
    )
    if result["problems"]:
        print("CHECKS FAILED:")
        for problem in result["problems"]:
            print(f"  - {problem}")
    else:
        print(
            "Checks passed: every message stored once, none quarantined, replies on their tickets"
        )
    print(
        f"\n--- Profile: {PROFILE_MESSAGES} messages through inbound.process_waiting()"
        f" in one process ({result['profiled_s']}s under cProfile;"
        f" results {result['profile_results']}) ---"
    )
    heading = f"{'cumulative s':>12} {'own s':>8} {'calls':>8}  function"
    print(f"Top 15 by cumulative time:\n{heading}")
    for line in result["profile_top"]:
        print(f"   {line}")
    print(f"Top 10 by own time:\n{heading}")
    for line in result["profile_own"]:
        print(f"   {line}")
    print("Share of the profiled time spent in (and under) some steps:")
    for line in result["profile_share"]:
        print(f"   {line}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000, help="messages sent (10000)")
    parser.add_argument("--postgres", action="store_true", help=f"use {pg_url()}")
    parser.add_argument(
        "--pg-database",
        default=PG_DATABASE,
        help=f"the throwaway PostgreSQL database (created, then dropped; {PG_DATABASE})",
    )
    parser.add_argument("--workers", type=int, default=2, help="`firstline worker` processes (2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (4)")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="`firstline serve` worker processes (2)"
    )
    parser.add_argument(
        "--web-threads", type=int, default=1,
        help="threads per `firstline serve` process (1, its default: gunicorn's sync worker)",
    )  # fmt: skip
    parser.add_argument(
        "--tickets", type=int, default=1_000_000,
        help="seeded tickets already in the database (1000000; 0: an empty database)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.messages < 100:
        parser.error("--messages must be at least 100")
    # SIGTERM (run.py's timeout) unwinds like Ctrl+C: servers stopped, temp data dropped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("email_ingest: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-email-"))
    try:
        if args.tickets:
            args.made = seeded_database(
                args.pg_database, postgres=args.postgres, tickets=args.tickets, workdir=workdir,
                search_index=True,
            )[1]  # fmt: skip
        elif args.postgres:
            recreate_pg_database(args.pg_database)
        result = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            recreate_pg_database(args.pg_database, drop_only=True)
    result["correct"] = "passed" if not result["problems"] else "FAILED"
    report(result)
    emit_result(summary(result))
    if result["problems"]:
        sys.exit(1)
    return result


def _short(share: str) -> str:
    """'35.8%  5.747  232  firstline/channels/inbound.py:227(_create)' -> 'inbound._create 35.8%'"""
    fields = share.split()
    path, _, func = fields[3].partition("(")
    module = path.rpartition("/")[2].partition(".py")[0]
    return f"{module}.{func.rstrip(')')} {fields[0]}"


def summary(result: dict) -> dict:
    """What run.py collects: the figures, and how to show them."""
    left_out = ("profile_top", "profile_own", "profile_share", "progress")
    keep = [k for k in result if k not in left_out]
    out = {k: result[k] for k in keep}
    out["columns"] = [[k, h] for k, h in COLUMNS]
    missed = "met" if result["target_met"] else "missed"
    out["notes"] = [
        f"end-to-end target {result['target_per_s']} msg/s {missed}"
        f" ({result['e2e_per_s']} msg/s, {result['e2e_s']}s for {result['messages']} messages;"
        f" msg/s per tenth of the messages: {result['e2e_timeline']})",
        f"intake: {result['intake_per_s']} msg/s while the workers run,"
        f" {result['intake_alone_per_s']} msg/s for {result['intake_alone_messages']} more"
        f" with the workers stopped; {result['tcp_connects']} TCP connects,"
        f" non-202 answers: {result['http_non_202'] or 'none'}",
        f"results: {json.dumps(result['by_result'], sort_keys=True)}",
        f"machine load average (1 min): {result['load']}",
        f"CPU ms per message (first POST to drained): {result['cpu_ms_per_message']}",
        f"profile ({PROFILE_MESSAGES} messages in-process), share of the time spent under: "
        + ", ".join(_short(line) for line in result["profile_share"][:6]),
        *(f"CHECK FAILED: {problem[:300]}" for problem in result["problems"]),
    ]
    return out


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        sys.exit(f"email_ingest failed: {exc}")
