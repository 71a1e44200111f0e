"""Properties of the e-mail parser on generated input: it never fails on hostile bytes, and
what a real mailer encodes comes back out unchanged."""

from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from firstline.channels import parsing
from firstline.channels.parsing import Limits, MessageRejected, parse_message
from firstline.tickets.services import clean_filename

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))
CORPUS_BYTES = [path.read_bytes() for path in CORPUS]
FAST = settings(max_examples=200, deadline=None)
# Small limits, so that generated nesting and part counts reach them.
LIMITS = Limits(max_bytes=200_000, max_parts=40, max_depth=6)

# Pieces of real mail syntax, so that random input reaches the interesting code paths.
TOKENS = [
    b"\r\n", b"\n", b"\n\n", b": ", b"From: ", b"To: a@b, ", b"Subject: ", b"Message-ID: <",
    b"References: <a@b> ", b"Date: ", b"Return-Path: <>", b"Auto-Submitted: auto-replied",
    b"Content-Type: multipart/mixed; boundary=", b"Content-Type: multipart/alternative; boundary=b",
    b"Content-Type: message/rfc822", b"Content-Type: multipart/report; report-type=delivery-status",
    b"Content-Type: message/delivery-status", b"Content-Type: text/rfc822-headers",
    b"Content-Type: text/html; charset=", b"Content-Type: text/plain; charset=", b"gb2312",
    b"utf-8", b"x-unknown", b"ks_c_5601-1987", b"format=flowed", b"Content-Transfer-Encoding: ",
    b"base64", b"quoted-printable", b"x-uuencode", b"Content-Disposition: attachment; ",
    b"filename=", b"filename*=UTF-8''", b"filename*0*=", b"name=", b"Content-ID: <x>",
    b"--b", b"--b--", b"=?utf-8?B?", b"=?gb2312?Q?", b"?=", b"=E4=B8", b"\"", b"\\", b"(", b")",
    b"<", b">", b";", b",", b":", b"<html><body>", b"<script>", b"<img src=cid:x>", b"<div>",
    b"<blockquote>", b"On Mon wrote:", b"-----Original Message-----", b"-- \n", b"> ",
    b"\xe9\x95\x95", b"\xff\xfe", b"\x00", b"\xa0", b"begin 644 x\n", b"end\n",
]  # fmt: skip
mail_like = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12)), max_size=80).map(
    b"".join
)


@contextmanager
def strict():
    """The last-resort fallbacks must not be what keeps the parser from failing."""

    def fail(policy):
        raise AssertionError(f"parsing with {type(policy).__name__} failed")

    with mock.patch.object(parsing, "_note_failure", side_effect=fail):
        yield


def check(raw: bytes) -> None:
    """Parses, and checks what every result promises."""
    with strict():
        try:
            parsed = parse_message(raw, LIMITS)
        except MessageRejected as rejected:
            assert rejected.reason.endswith(".")
            return
    for text in (parsed.subject, parsed.text, parsed.reply_text, parsed.from_name):
        assert "\x00" not in text
    assert parsed.reply_text or not parsed.text.strip()
    assert parsed.date is None or parsed.date.tzinfo is not None
    assert parsed.from_address == parsed.from_address.lower()
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename
        assert isinstance(attachment.content, bytes)
    if parsed.html is not None:
        assert "<script" not in parsed.html.lower()


@FAST
@given(st.one_of(st.binary(max_size=3000), mail_like))
def test_arbitrary_bytes_never_fail(raw):
    check(raw)


@st.composite
def mutated_corpus(draw):
    raw = bytearray(draw(st.sampled_from(CORPUS_BYTES)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        if kind == "flip" and position < len(raw):
            raw[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            raw[position:position] = draw(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)))
        elif kind == "delete":
            del raw[position : position + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del raw[position:]
        elif kind == "repeat":
            raw[position:position] = raw[position : position + 40] * draw(st.integers(1, 5))
    return bytes(raw)


@FAST
@given(mutated_corpus())
def test_mutated_corpus_messages_never_fail(raw):
    check(raw)


# Text a mailer can carry unchanged: no control characters, line separators, surrogates or
# private-use code points, and no byte order mark (the parser drops it).
readable = st.characters(
    blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="\ufeff"
)
subjects = st.text(readable, max_size=120).filter(lambda s: "=?" not in s)
bodies = st.text(st.one_of(readable, st.just("\n")), max_size=600)
filenames = st.text(readable, min_size=1, max_size=60).filter(lambda s: s.strip())


@FAST
@given(subject=subjects, body=bodies, names=st.lists(filenames, max_size=3))
def test_generated_messages_round_trip(subject, body, names):
    message = EmailMessage()
    message["From"] = "Sender <sender@example.org>"
    message["To"] = "helpdesk@helpdesk.example.com"
    message["Subject"] = subject
    message.set_content(body)
    for name in names:
        message.add_attachment(b"data", maintype="application", subtype="pdf", filename=name)
    with strict():
        parsed = parse_message(message.as_bytes())
    assert parsed.subject == " ".join(subject.split())
    assert parsed.text == body.rstrip().lstrip("\n")
    assert [a.filename for a in parsed.attachments] == [clean_filename(n) for n in names]
    assert parsed.from_address == "sender@example.org"
