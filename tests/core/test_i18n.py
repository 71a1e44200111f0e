"""The Simplified Chinese translation: complete, consistent with the code, and actually served."""

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

import firstline
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

LC_MESSAGES = Path(firstline.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"django.po:{self.line}: {context}{self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def _parse_entry(lines: list[tuple[int, str]]) -> Entry:
    entry = Entry(line=lines[0][0])
    target: tuple[str, int] | None = None
    for number, line in lines:
        if line.startswith("#~"):
            raise AssertionError(f"django.po:{number}: obsolete entry; use --no-obsolete")
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            target = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else (keyword, 0)
        elif line.startswith('"') and target is not None:
            text = line
        else:
            raise AssertionError(f"django.po:{number}: cannot read {line!r}")
        value = ast.literal_eval(text)  # a C string literal, as .po files write them
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
        else:
            setattr(entry, name, (getattr(entry, name) or "") + value)
    return entry


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader, enough for the files makemessages writes (no gettext tools needed):
    entries are separated by blank lines."""
    entries, block = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            block.append((number, line.strip()))
        elif block:
            entries.append(_parse_entry(block))
            block = []
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    return parse_po(PO_FILE)


@pytest.fixture(scope="module")
def messages(catalog) -> list[Entry]:
    return [e for e in catalog if e.msgid != "" or e.msgctxt is not None]


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    yield
    translation.deactivate()


# The catalog itself.


def test_header_declares_chinese_without_plural_forms(catalog):
    header = catalog[0]
    assert header.msgid == "" and "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.msgstr[0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.msgstr[0]


def test_every_message_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 400
    fuzzy = [str(e) for e in messages if "fuzzy" in e.flags]
    untranslated = [str(e) for e in messages if not e.msgstr or not all(e.msgstr.values())]
    assert fuzzy == []
    assert untranslated == []


def test_plural_messages_have_the_one_chinese_form(messages):
    plurals = [e for e in messages if e.msgid_plural is not None]
    assert plurals, "the templates count tickets, users, groups…"
    assert [str(e) for e in plurals if set(e.msgstr) != {0}] == []
    assert [str(e) for e in messages if e.msgid_plural is None and set(e.msgstr) != {0}] == []


def test_no_message_appears_twice(messages):
    keys = Counter((e.msgctxt, e.msgid) for e in messages)
    assert [key for key, n in keys.items() if n > 1] == []


_PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|%[sdifr]|\{\w*\}")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")


@pytest.mark.parametrize("pattern", [_PLACEHOLDER, _TAG], ids=["placeholders", "markup"])
def test_translations_keep_every_placeholder_and_tag(messages, pattern):
    wrong = []
    for e in messages:
        sources = [e.msgid] if e.msgid_plural is None else [e.msgid, e.msgid_plural]
        expected = Counter(pattern.findall(sources[-1]))
        for source in sources:
            # A plural's singular may leave the number out ("One ticket"); never add one.
            assert set(pattern.findall(source)) <= set(expected), e
        for translated in e.msgstr.values():
            if Counter(pattern.findall(translated)) != expected:
                wrong.append(f"{e} -> {translated!r}")
    assert wrong == []


def test_python_format_flags_match_the_placeholders(messages):
    """makemessages flags %-formatted strings; a flag without a placeholder is a stale entry."""
    wrong = [
        str(e)
        for e in messages
        if "python-format" in e.flags and not re.search(r"%\(\w+\)[a-z]|%[sdifr]", e.msgid)
    ]
    assert wrong == []


def test_compiled_catalog_is_up_to_date(messages):
    """django.mo says exactly what django.po says: nobody forgot compilemessages."""
    with MO_FILE.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    assert compiled.info()["plural-forms"] == "nplurals=1; plural=0;"
    stale = []
    for e in messages:
        if e.msgid_plural is not None and e.msgctxt is not None:
            got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2)
        elif e.msgid_plural is not None:
            got = compiled.ngettext(e.msgid, e.msgid_plural, 2)
        elif e.msgctxt is not None:
            got = compiled.pgettext(e.msgctxt, e.msgid)
        else:
            got = compiled.gettext(e.msgid)
        if got != e.msgstr[0]:
            stale.append(str(e))
    assert stale == []


def test_terminology_is_consistent(messages):
    """One word for each help-desk concept, the words IT service desks in mainland China use."""
    by_id = {(e.msgctxt, e.msgid): e.msgstr[0] for e in messages}
    assert by_id[(None, "Agent")] == "技术支持人员"
    assert by_id[(None, "Requester")] == "请求人"
    assert by_id[(None, "Group")] == "支持组"
    assert by_id[(None, "Escalate")] == "升级"
    assert by_id[(None, "De-escalate")] == "降级"
    assert by_id[(None, "Internal note")] == "内部备注"
    assert by_id[(None, "Public reply")] == "公开回复"
    assert by_id[(None, "Pending")] == "等待请求人"
    assert by_id[(None, "On hold")] == "挂起"
    translations = " ".join(by_id.values())
    for other_word in ("坐席", "客服人员", "代理", "票据", "门票"):
        assert other_word not in translations


# The translation as people get it.


@pytest.mark.django_db
def test_login_page_follows_the_browser_language(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录服务台" in html
    assert "用户名或电子邮件" in html
    assert "Log in to the help desk" not in html


@pytest.mark.django_db
def test_mainland_browsers_asking_for_zh_cn_get_simplified_chinese(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8")
    assert "登录服务台" in html.content.decode()


@pytest.mark.django_db
def test_login_page_stays_english_by_default(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert "Log in to the help desk" in html


@pytest.mark.django_db
def test_language_menu_names_each_language_in_itself(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">English</option>" in html
    assert ">简体中文</option>" in html


def _speaks_chinese(user):
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    return user


@pytest.mark.django_db
def test_requester_with_chinese_profile_sees_the_portal_in_chinese(client, desk, new_ticket):
    new_ticket(requester=desk.alice, subject="Printer jams")
    client.force_login(_speaks_chinese(desk.alice))
    # The profile wins over what the browser asks for.
    html = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in html
    for text in ("提交请求", "我的请求", "知识库", "新建", "最后更新"):
        assert text in html, text
    assert "Submit a request" not in html


@pytest.mark.django_db
def test_agent_with_chinese_profile_sees_the_desk_queue_in_chinese(client, desk, new_ticket):
    new_ticket(requester=desk.alice, subject="Printer jams")
    client.force_login(_speaks_chinese(desk.l1_agent))
    html = client.get(reverse("desk:queue", args=["unassigned"])).content.decode()
    assert '<html lang="zh-hans">' in html
    for text in ("我的工单", "我的支持组中未分配的工单", "优先级", "更新时间", "普通", "筛选"):
        assert text in html, text
    assert "Unassigned in my groups" not in html


@pytest.mark.django_db
def test_ticket_history_names_fields_and_values_in_the_readers_language(client, desk, new_ticket):
    ticket = new_ticket(requester=desk.alice)
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, status="pending"
    )
    url = reverse("desk:ticket", args=[ticket.pk]) + "?tab=history"
    client.force_login(desk.l1_agent)
    assert "changed status from “new” to “pending”" in client.get(url).content.decode()
    client.force_login(_speaks_chinese(desk.l2_agent))
    desk.l2_agent.support_groups.add(desk.l1)
    assert "将状态从“新建”更改为“等待请求人”" in client.get(url).content.decode()


@pytest.mark.django_db
def test_service_and_form_errors_on_web_pages_are_in_chinese(client, desk, new_ticket):
    ticket = new_ticket(requester=desk.alice)
    client.force_login(_speaks_chinese(desk.l1_agent))
    merge = client.post(reverse("desk:merge", args=[ticket.pk]), {"into": ticket.pk})
    assert merge.status_code == 400
    assert "工单不能合并到自身。" in merge.content.decode()
    reply = client.post(reverse("desk:reply", args=[ticket.pk]), {"visibility": "public"})
    assert reply.status_code == 400
    assert "这个字段是必填项。" in reply.content.decode()  # Django's own messages too


@pytest.mark.django_db
def test_api_errors_follow_accept_language(desk, api):
    client = api(desk.alice)
    response = client.post("/tickets", {"subject": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 422
    assert response.json()["message"] == "主题不能为空。"
    assert response.json()["errors"] == {"subject": ["主题不能为空。"]}
    assert response["Content-Language"] == "zh-hans"

    invalid = client.post("/tickets", {}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert invalid.status_code == 422
    assert invalid.json()["message"] == "请求无效。"

    english = client.post("/tickets", {"subject": ""})
    assert english.json()["message"] == "The subject cannot be empty."


@pytest.mark.django_db
def test_api_authentication_error_is_translated():
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/tickets")
    assert response.status_code == 401
    assert response.json()["message"].startswith("需要身份验证")
    assert "Authorization: Bearer <token>" in response.json()["message"]
