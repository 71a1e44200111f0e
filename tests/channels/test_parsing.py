"""The e-mail parser against a corpus of hand-written messages, plus the rules one by one.

Each tests/channels/corpus/<name>.eml has a <name>.json listing what must come out of it; the
keys are explained in `_mismatches`.
"""

import contextlib
import json
import time
from pathlib import Path
from unittest import mock

import pytest

from firstline.channels import parsing
from firstline.channels.parsing import (
    Limits,
    MessageRejected,
    html_to_text,
    normalize_charset,
    parse_message,
    sanitize_html,
    trim_reply,
)

CORPUS = Path(__file__).parent / "corpus"
NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))

EQUAL_FIELDS = {
    "subject", "from_address", "from_name", "message_id", "in_reply_to", "references",
    "return_path", "automation", "bounced_message_id", "text", "reply_text", "header_fields",
}  # fmt: skip
ADDRESS_FIELDS = {"to", "cc", "reply_to"}
CONTAINS_FIELDS = {
    "subject_contains": "subject", "text_contains": "text", "reply_contains": "reply_text",
    "html_contains": "html",
}  # fmt: skip
NOT_CONTAINS_FIELDS = {
    "text_not_contains": "text", "reply_not_contains": "reply_text", "html_not_contains": "html",
}  # fmt: skip
META_FIELDS = {"description", "limits", "rejected", "reason_contains"}


def _load(name: str) -> tuple[bytes, dict]:
    raw = (CORPUS / f"{name}.eml").read_bytes()
    expected = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    return raw, expected


def _attachment_mismatches(actual, expected: list[dict]):
    names = [a.filename for a in actual]
    if len(actual) != len(expected):
        yield f"attachments: expected {len(expected)}, got {len(actual)}: {names}"
        return
    for index, (attachment, wanted) in enumerate(zip(actual, expected, strict=True)):
        for key, value in wanted.items():
            if key == "content":
                got, value = attachment.content, value.encode("utf-8")
            elif key == "content_contains":
                got = attachment.content.decode("utf-8", "replace")
                if value not in got:
                    yield f"attachment {index} ({attachment.filename}): {value!r} not in content"
                continue
            elif key == "content_startswith_hex":
                got = attachment.content[: len(value) // 2].hex()
            else:
                got = getattr(attachment, key)
            if got != value:
                yield f"attachment {index} {key}: expected {value!r}, got {got!r}"


def _mismatches(parsed, expected: dict):
    """Every way `parsed` differs from the expectations, as readable lines."""
    for key, value in expected.items():
        if key in META_FIELDS:
            continue
        if key in EQUAL_FIELDS:
            got = getattr(parsed, key)
        elif key in ADDRESS_FIELDS:
            got = [list(pair) for pair in getattr(parsed, key)]
        elif key == "date":
            got = parsed.date.isoformat() if parsed.date else None
        elif key == "html":
            assert value is None, "only 'html': null is supported"
            got = parsed.html
        elif key == "charset_warnings":
            if bool(parsed.charset_warnings) != value:
                wanted = "some" if value else "none"
                yield f"charset_warnings: expected {wanted}, got {parsed.charset_warnings!r}"
            continue
        elif key == "attachments":
            yield from _attachment_mismatches(parsed.attachments, value)
            continue
        elif key in CONTAINS_FIELDS:
            got = getattr(parsed, CONTAINS_FIELDS[key]) or ""
            yield from (f"{key}: {v!r} missing from {got[:2000]!r}" for v in value if v not in got)
            continue
        elif key in NOT_CONTAINS_FIELDS:
            got = getattr(parsed, NOT_CONTAINS_FIELDS[key]) or ""
            yield from (f"{key}: {v!r} present in {got[:2000]!r}" for v in value if v in got)
            continue
        else:
            yield f"unknown expectation {key!r}"
            continue
        if got != value:
            yield f"{key}: expected {value!r}, got {got!r}"


@pytest.fixture
def strict_parser():
    """Fails the test when the parser had to fall back to its last-resort paths."""

    def fail(policy):
        raise AssertionError(f"parsing with {type(policy).__name__} failed")

    with mock.patch.object(parsing, "_note_failure", side_effect=fail):
        yield


@pytest.mark.parametrize("name", NAMES)
def test_corpus(name, strict_parser):
    raw, expected = _load(name)
    limits = Limits(**expected.get("limits", {}))
    if expected.get("rejected"):
        with pytest.raises(MessageRejected) as rejected:
            parse_message(raw, limits)
        assert expected["reason_contains"] in rejected.value.reason, rejected.value.reason
        return
    parsed = parse_message(raw, limits)
    problems = list(_mismatches(parsed, expected))
    assert not problems, f"{name}.eml:\n  " + "\n  ".join(problems)


def test_corpus_is_complete():
    expectations = sorted(path.stem for path in CORPUS.glob("*.json"))
    assert expectations == NAMES, "every .eml needs a .json and the other way round"
    assert len(NAMES) >= 45
    for name in NAMES:
        assert _load(name)[1].get("description"), f"{name}.json has no description"


def test_corpus_parses_fast():
    slowest = {}
    for name in NAMES:
        raw, expected = _load(name)
        limits = Limits(**expected.get("limits", {}))
        best = float("inf")
        for _ in range(3):  # the best of three, so that a busy machine does not fail the test
            started = time.perf_counter()
            with contextlib.suppress(MessageRejected):
                parse_message(raw, limits)
            best = min(best, time.perf_counter() - started)
        slowest[name] = best
    name = max(slowest, key=slowest.get)
    assert slowest[name] < 0.05, f"{name}.eml took {slowest[name] * 1000:.1f} ms"


# --- Charsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("GB_2312-80", "gb18030"),
        ("euc-cn", "gb18030"),
        ("cp936", "gb18030"),
        ('"gb2312"', "gb18030"),
        ("big5", "big5hkscs"),
        ("Big5-HKSCS", "big5hkscs"),
        ("shift_jis", "cp932"),
        ("x-sjis", "cp932"),
        ("sjis", "cp932"),
        ("ks_c_5601-1987", "cp949"),
        ("euc-kr", "cp949"),
        ("utf-8", "utf-8"),
        ("UTF8", "utf-8"),
        ("utf-8*en", "utf-8"),
        ("iso-8859-1", "cp1252"),
        ("x-unknown", None),
        ("", None),
        (None, None),
        ("base64", None),  # a codec, but not a charset
        ("punycode", None),
        ("unicode_escape", None),
        ("utf\x008", None),
        ("a" * 100, None),
    ],
)
def test_normalize_charset(label, codec):
    assert normalize_charset(label) == codec


def _message(headers: str, body: bytes = b"body\n") -> bytes:
    return headers.encode() + b"\n\n" + body


def test_gb2312_encoded_word_with_gbk_only_characters():
    subject = "=?gb2312?B?" + __import__("base64").b64encode("镕祎".encode("gbk")).decode() + "?="
    parsed = parse_message(_message(f"Subject: {subject}"))
    assert parsed.subject == "镕祎"
    assert parsed.charset_warnings == []


def test_unknown_charset_in_body_warns_and_decodes_utf8():
    parsed = parse_message(_message("Content-Type: text/plain; charset=x-foo", "é".encode()))
    assert parsed.text == "é"
    assert parsed.charset_warnings == ["unknown charset 'x-foo' in body: decoded as UTF-8"]


def test_unknown_chinese_looking_charset_falls_back_to_gb18030():
    body = "中文".encode("gbk")
    parsed = parse_message(_message("Content-Type: text/plain; charset=x-mac-chinesesimp", body))
    assert parsed.text == "中文"
    assert "decoded as GB18030" in parsed.charset_warnings[0]


def test_undecodable_bytes_are_replaced_with_a_warning():
    parsed = parse_message(_message("Content-Type: text/plain; charset=utf-8", b"ok \xff\xfe"))
    assert parsed.text.startswith("ok ")
    assert "\ufffd" in parsed.text
    assert parsed.charset_warnings == [
        "text not valid in charset 'utf-8' in body: decoded with replacement"
    ]


def test_control_characters_and_nul_never_reach_the_text():
    parsed = parse_message(_message("Subject: a\x01b", b"line\x00one\r\nline two\x1b\r\n"))
    assert parsed.text == "lineone\nline two"
    assert parsed.subject == "ab"


# --- Headers ------------------------------------------------------------------------------------


def test_message_ids_without_angle_brackets():
    parsed = parse_message(_message("Message-ID: abc@example.org\nIn-Reply-To: x@y z@w"))
    assert parsed.message_id == "abc@example.org"
    assert parsed.in_reply_to == ["x@y", "z@w"]


def test_long_references_keep_the_root_and_the_latest():
    ids = [f"<id{n}@example.org>" for n in range(150)]
    parsed = parse_message(_message("References: " + "\n ".join(ids)))
    assert len(parsed.references) == 100
    assert parsed.references[0] == "id0@example.org"
    assert parsed.references[-1] == "id149@example.org"
    assert parsed.references[1] == "id51@example.org"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Tue, 3 Nov 2026 10:15:00 +0800", "2026-11-03T10:15:00+08:00"),
        ("3 Nov 2026 10:15 GMT", "2026-11-03T10:15:00+00:00"),
        ("not a date", None),
        ("Tue, 3 Nov 2026 10:15:00 +9999", None),
        ("Tue, 31 Feb 2026 10:15:00 +0000", None),
    ],
)
def test_dates(header, expected):
    parsed = parse_message(_message(f"Date: {header}"))
    assert (parsed.date.isoformat() if parsed.date else None) == expected


def test_return_path():
    assert parse_message(_message("Subject: x")).return_path is None
    assert parse_message(_message("Return-Path: <>")).return_path == ""
    assert parse_message(_message("Return-Path: <A@B.org>")).return_path == "a@b.org"


def test_postfix_local_mailer_daemon_without_address_is_a_bounce():
    parsed = parse_message(_message("From: MAILER-DAEMON (Mail Delivery System)\nSubject: x"))
    assert parsed.from_address == ""
    assert parsed.automation == "bounce"


def test_person_writing_out_of_office_in_the_subject_is_not_automatic():
    parsed = parse_message(_message("From: a@example.org\nSubject: Out of office next week"))
    assert parsed.automation is None


@pytest.mark.parametrize(
    ("headers", "automation"),
    [
        ("Auto-Submitted: no", None),
        ("Auto-Submitted: auto-replied; owner-email=a@b", "auto_reply"),
        ("Auto-Submitted: auto-notified", "auto_generated"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "list"),
        ("List-Id: <a.example.org>", "list"),
        ("X-Autorespond: on", "auto_reply"),
        ("X-Autoreply: no", None),
        ("From: postmaster@example.org", "bounce"),
    ],
)
def test_automation_headers(headers, automation):
    assert parse_message(_message(headers)).automation == automation


# --- Structure and limits -----------------------------------------------------------------------


def _multipart(count: int) -> bytes:
    parts = "".join(f"--b\nContent-Type: text/plain\n\n{n}\n" for n in range(count))
    return f"Content-Type: multipart/mixed; boundary=b\n\n{parts}--b--\n".encode()


def test_part_limit_counts_every_part_below_the_top():
    assert parse_message(_multipart(5), Limits(max_parts=5)).text == "0\n1\n2\n3\n4"
    with pytest.raises(MessageRejected, match="more than 5 parts"):
        parse_message(_multipart(6), Limits(max_parts=5))


def test_depth_limit():
    raw = b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nSubject: x\n\nhi\n"
    assert parse_message(raw, Limits(max_depth=2)).attachments[0].filename == "message.eml"
    with pytest.raises(MessageRejected, match="more than 1 levels deep"):
        parse_message(raw, Limits(max_depth=1))


def test_size_limit_reason():
    with pytest.raises(MessageRejected) as rejected:
        parse_message(b"x" * (31 * 1024 * 1024))
    assert rejected.value.reason == "The message is larger than the limit of 30 MB."


def test_forwarded_message_attachment_is_the_message_itself():
    inner = b"From: a@example.org\r\nSubject: Inner\r\nMessage-ID: <in@x>\r\n\r\nInner body\r\n"
    raw = b"Subject: Fwd\nContent-Type: message/rfc822\n\n" + inner
    attachment = parse_message(raw).attachments[0]
    assert attachment.filename == "Inner.eml"
    assert attachment.content == inner
    assert parse_message(attachment.content).text == "Inner body"


def test_large_html_is_cut_with_a_warning():
    html = "<p>" + "word " * 300_000 + "</p>"
    parsed = parse_message(_message("Content-Type: text/html", html.encode()))
    assert len(parsed.text) < 1_100_000
    assert any("HTML body larger than" in warning for warning in parsed.charset_warnings)


def test_deeply_nested_html_is_fast():
    html = "<div>" * 50_000 + "deep" + "</div>" * 50_000
    started = time.perf_counter()
    parsed = parse_message(_message("Content-Type: text/html", html.encode()))
    assert time.perf_counter() - started < 2
    assert parsed.text == "deep"


# --- HTML ---------------------------------------------------------------------------------------


def test_sanitize_html_blocks_remote_images_but_keeps_cid():
    html = sanitize_html('<img src="https://t.example/p.gif" alt="x"><img src="CID:a@b">')
    assert html == '<img alt="x"><img src="CID:a@b">'


def test_sanitize_html_links():
    html = sanitize_html('<a href="https://ok.example/">ok</a><a href="/relative">rel</a>')
    assert html == (
        '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a>'
        '<a rel="noopener noreferrer nofollow">rel</a>'
    )


def test_html_to_text():
    html = (
        "<h1>Title</h1><p>One&nbsp;&amp;&#32;two</p><ul><li>first</li><li>second</li></ul>"
        "<table><tr><td>a</td><td>b</td></tr></table><pre>  keep\n    spacing</pre>"
        "<blockquote>quoted<blockquote>deeper</blockquote></blockquote>line<br>break"
        "<style>p{}</style><script>x()</script>"
    )
    assert html_to_text(html) == (
        "Title\nOne & two\n- first\n- second\na\tb\n  keep\n    spacing\n"
        "> quoted\n>> deeper\nline\nbreak"
    )


def test_html_to_text_keeps_the_signature_separator():
    assert html_to_text("<div>Thanks</div><div>-- <br>Ann</div>") == "Thanks\n-- \nAnn"


def test_format_flowed_joins_soft_breaks_per_quote_level():
    body = b"one \r\ntwo\r\n> quoted \r\n> more\r\n>> deep \r\n\r\n-- \r\n sig\r\n"
    raw = _message("Content-Type: text/plain; charset=utf-8; format=flowed", body)
    assert parse_message(raw).text == "one two\n> quoted more\n>> deep \n\n-- \nsig"


# --- Trimming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Fixed.\n\n-----Original Message-----\nFrom: x\n\nold", "Fixed."),
        ("Fixed.\n\n________________________________\nFrom: IT\nSent: Monday\n\nold", "Fixed."),
        ("Fixed.\n\nFrom: IT <it@x>\nDate: Monday\nTo: me\n\nold", "Fixed."),
        ("Fixed.\n\nOn Mon, 2 Nov 2026, IT <it@x> wrote:\n> old", "Fixed."),
        ("Fixed.\n\nOn Mon, 2 Nov 2026 at 10:00, IT\n(Firstline) <\nit@x> wrote:\n> old", "Fixed."),
        ("好了。\n\n------------------ 原始邮件 ------------------\n发件人: IT", "好了。"),
        ("好了。\n\n发件人：IT服务台\n发送时间：2026年11月3日\n主题：x\n\nold", "好了。"),
        ("好了。\n\n在 2026年11月3日 10:15，IT服务台 写道：\n> old", "好了。"),
        ("好了。\n\n2026年11月3日 上午10:15，IT <it@x> 写道：\n\n> old", "好了。"),
        ("Done.\n\n-- \nAnn\nIT", "Done."),
        ("Done.\n--\nnot a signature", "Done.\n--\nnot a signature"),
        ("Done.\n\nSent from my iPhone\n\n> old", "Done."),
        ("Done.\n\n发自我的iPhone", "Done."),
        ("Done.\n\nGet Outlook for iOS", "Done."),
        ("Done.\n\nAnn wrote:\n> old\n> older\n", "Done."),
        ("> question one\nanswer one\n> question two\nanswer two", None),
        ("See below.\n\n----- Forwarded message -----\nFrom: V <v@x>\nDate: Mon\n\nbody", None),
        ("> only a quote", None),
        ("-- \nonly a signature", None),
        ("", ""),
    ],
)
def test_trim_reply(text, reply):
    assert trim_reply(text) == (text.strip() if reply is None else reply)


def test_trim_reply_looks_only_at_the_start_of_huge_text():
    text = "line\n" * 100_000 + "-----Original Message-----\nold"
    started = time.perf_counter()
    assert trim_reply(text) == text.strip()  # the marker lies past what the rules look at
    assert time.perf_counter() - started < 1
