"""Turns a raw e-mail into plain data for the e-mail channel, without touching the database.

Mail is hostile input. Everything here is bounded in size and time, never raises on malformed
data (only `MessageRejected` for a message over a limit), never fetches anything from the
network, and decodes the charsets Chinese, Japanese and Korean mailers really send (a "gb2312"
label usually means GBK, so it is read as GB18030).

The MIME tree comes from the standard `email` package with `policy.default`, except that header
values stay raw strings: in Python 3.11 the structured header parser of `policy.default` is
quadratic (a 10 KB Content-Type takes a second), recurses without bound (nested comments raise
RecursionError while parsing), decodes "gb2312" strictly and turns raw 8-bit bytes into U+FFFD.
Header values are read here by small linear decoders that apply the charset mapping.
"""

import binascii
import codecs
import functools
import io
import logging
import mimetypes
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.feedparser import BytesFeedParser
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32, EmailPolicy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import nh3

__all__ = [
    "Limits",
    "MessageRejected",
    "ParsedAttachment",
    "ParsedMessage",
    "html_to_text",
    "normalize_charset",
    "parse_message",
    "sanitize_html",
    "trim_reply",
]

logger = logging.getLogger(__name__)

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 25 * _MB + 5 * _MB  # the whole raw message
    max_parts: int = 200
    max_depth: int = 10  # multipart/message nesting


class MessageRejected(Exception):
    """The message is over a limit; `reason` is a sentence that can go back to the sender."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None
    inline: bool


@dataclass
class ParsedMessage:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    return_path: str | None
    date: datetime | None
    text: str
    html: str | None
    reply_text: str
    attachments: list[ParsedAttachment]
    automation: str | None
    bounced_message_id: str | None
    charset_warnings: list[str]
    header_fields: dict[str, str]


# --- Parsing the MIME tree -----------------------------------------------------------------------

_HEADER_LIMIT = 64 * 1024  # the References of a long thread fit easily
_CONTENT_HEADER_LIMIT = 8 * 1024  # Content-* values are also split by the email package itself


def _raw_header(name: str, value: str) -> str:
    return value


class _CappedHeaders:
    """Caps every header value as it is read, so that no later step sees a huge one."""

    def header_source_parse(self, sourcelines):
        name, value = super().header_source_parse(sourcelines)
        content = name.strip().lower().startswith("content-")
        return name, value[: _CONTENT_HEADER_LIMIT if content else _HEADER_LIMIT]


class _SourcePolicy(_CappedHeaders, EmailPolicy):
    pass


class _FallbackPolicy(_CappedHeaders, Compat32):
    pass


# policy.default with raw string headers; refold_source="none" writes nested messages back as read.
_POLICY = _SourcePolicy(header_factory=_raw_header, refold_source="none", linesep="\r\n")
_FALLBACK_POLICY = _FallbackPolicy()


class _PartCounter:
    """The parser's message factory: counting parts as they are created stops a message with
    thousands of parts before it is built, not after."""

    def __init__(self, max_parts: int):
        self.max_parts = max_parts
        self.created = 0

    def __call__(self, policy):
        self.created += 1
        if self.created > self.max_parts + 1:  # the top-level message is not a part
            raise MessageRejected(f"The message has more than {self.max_parts} parts.")
        return (policy.message_factory or Message)(policy=policy)


def _parse_tree(raw: bytes, limits: Limits, policy) -> Message:
    counter = _PartCounter(limits.max_parts)
    parser = BytesFeedParser(_factory=counter, policy=policy)
    counter.created = 0  # the parser calls the factory once to check its signature
    parser.feed(raw)
    return parser.close()


@dataclass
class _Part:
    msg: Message
    headers: dict[str, str]  # first value of each header, raw (lower-case names)
    embedded: bool  # inside a forwarded or returned message: its content is not this message's
    parent: str  # content type of the enclosing container


def _headers(msg: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).strip().lower(), str(value))
    return found


_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})


def _walk(root: Message, max_depth: int) -> Iterator[_Part]:
    """Every part in document order, without recursion; rejects nesting deeper than allowed."""
    stack = [(root, 0, False, "")]
    while stack:
        msg, depth, embedded, parent = stack.pop()
        if depth > max_depth:
            raise MessageRejected(f"The message nests parts more than {max_depth} levels deep.")
        yield _Part(msg, _headers(msg), embedded, parent)
        if msg.is_multipart():
            ctype = msg.get_content_type()
            inner = embedded or (ctype.startswith("message/") and ctype not in _REPORT_TYPES)
            children = [child for child in msg.get_payload() if isinstance(child, Message)]
            stack.extend((child, depth + 1, inner, ctype) for child in reversed(children))


def _serialize(msg: Message) -> bytes:
    """A nested message as .eml bytes, its headers written back as they were read."""
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, policy=_POLICY).flatten(msg)
    except Exception:  # the generator on a broken nested message must not lose the rest
        logger.warning("Could not write back a nested message", exc_info=True)
        return b""
    return buffer.getvalue()


# --- Charsets and encoded words ------------------------------------------------------------------

_CHARSET_ALIASES = {
    **dict.fromkeys(
        (
            "gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "euc-cn", "x-euc-cn",
            "cp936", "ms936", "windows-936", "csgb2312", "chinese", "gb18030",
        ),
        "gb18030",
    ),
    **dict.fromkeys(
        ("big5", "big5-hkscs", "big5hkscs", "x-big5", "cn-big5", "csbig5"), "big5hkscs"
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "x-sjis", "sjis", "ms_kanji", "csshiftjis", "windows-31j"),
        "cp932",
    ),
    **dict.fromkeys(
        ("ks_c_5601-1987", "ks_c_5601", "ksc5601", "ksc_5601", "euc-kr", "x-euc-kr", "korean"),
        "cp949",
    ),
    # As browsers do: mail labelled Latin-1 is nearly always Windows-1252 ("smart quotes").
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1"), "cp1252"),
}  # fmt: skip
# Codecs Python knows that are not charsets of real text (and some are slow on large input).
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})
_CHINESE_LABEL = re.compile(r"gb|chinese|936|euc-?cn|hz")


@functools.lru_cache(maxsize=256)
def normalize_charset(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, widened where mailers understate it (a
    "gb2312" message holds GBK characters); None for an unknown label or a non-text codec."""
    label = (label or "").strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not label or len(label) > 40:
        return None
    try:
        info = codecs.lookup(_CHARSET_ALIASES.get(label, label))
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _try_decode(data: bytes, codec: str, errors: str = "strict") -> str | None:
    try:
        return data.decode(codec, errors)
    except (UnicodeError, LookupError, ValueError):
        return None


def _to_bytes(text: str) -> bytes:
    """The original bytes of text the parser read as ASCII with surrogate escapes."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(set(range(256)) - set(_BASE64_ALPHABET))


def _decode_base64(data: bytes) -> bytes:
    """Lenient base64: stray characters are skipped and a broken tail is dropped."""
    data = data.translate(None, _NOT_BASE64)
    if len(data) % 4 == 1:
        data = data[:-1]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def _word_bytes(match: re.Match) -> bytes:
    data = _to_bytes(match[3])
    if match[2] in "bB":
        return _decode_base64(data)
    return binascii.a2b_qp(data, header=True)


class _Context:
    """What one parse collects on the way: charset warnings, and the message's declared charset
    for guessing raw 8-bit bytes in headers."""

    def __init__(self):
        self.warnings: list[str] = []
        self.hint: str | None = None

    def warn(self, text: str) -> None:
        if text not in self.warnings and len(self.warnings) < 20:
            self.warnings.append(text)

    def decode(self, data: bytes, label: str | None, where: str) -> str:
        """The declared charset, else UTF-8, else GB18030 for a Chinese-looking unknown label,
        else UTF-8 with replacement characters; every guess leaves a warning."""
        label = (label or "").strip()[:40]
        codec = normalize_charset(label)
        if codec and (text := _try_decode(data, codec)) is not None:
            return text
        if label and not codec:
            problem = f"unknown charset {label!r}"
        elif label:
            problem = f"text not valid in charset {label!r}"
        else:
            problem = "no charset declared for 8-bit text"
        if data.isascii():
            if label and not codec:
                self.warn(f"{problem} in {where}: decoded as ASCII")
            return data.decode("ascii")
        if codec != "utf-8" and (text := _try_decode(data, "utf-8")) is not None:
            self.warn(f"{problem} in {where}: decoded as UTF-8")
            return text
        chinese = not codec and _CHINESE_LABEL.search(label.lower())
        if chinese and (text := _try_decode(data, "gb18030")) is not None:
            self.warn(f"{problem} in {where}: decoded as GB18030")
            return text
        self.warn(f"{problem} in {where}: decoded with replacement")
        return _try_decode(data, codec, "replace") if codec else data.decode("utf-8", "replace")

    def literal(self, text: str, where: str) -> str:
        """Header text outside encoded words: raw 8-bit bytes are UTF-8 or the message's charset."""
        if text.isascii():
            return text
        data = _to_bytes(text)
        if (decoded := _try_decode(data, "utf-8")) is not None:
            return decoded
        if self.hint and (decoded := _try_decode(data, self.hint)) is not None:
            return decoded
        self.warn(f"raw 8-bit bytes in {where}: decoded with replacement")
        return data.decode("utf-8", "replace")

    def words(self, value: str, where: str) -> str:
        """Decodes RFC 2047 encoded words; adjacent words in one charset are joined as bytes first,
        because mailers split multi-byte characters across words."""
        value = _unfold(value)
        chunks: list[tuple[str | bytes, str | None]] = []
        pos, after_word = 0, False
        for match in _ENCODED_WORD.finditer(value):
            between = value[pos : match.start()]
            if between and not (after_word and between.isspace()):
                chunks.append((between, None))
            data, charset = _word_bytes(match), match[1].lower()
            if after_word and chunks and chunks[-1][1] == charset:
                chunks[-1] = (chunks[-1][0] + data, charset)
            else:
                chunks.append((data, charset))
            pos, after_word = match.end(), True
        chunks.append((value[pos:], None))
        return "".join(
            self.literal(data, where) if charset is None else self.decode(data, charset, where)
            for data, charset in chunks
        )

    def header(self, value: str | None, where: str) -> str:
        return _clean_line(self.words(value or "", where))


# --- Header values -------------------------------------------------------------------------------

# Control characters (a database rejects NUL), byte order marks, and lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ud800-\udfff]")


def _drop_control(match: re.Match) -> str:
    return "\ufffd" if "\ud800" <= match[0] <= "\udfff" else ""


def _clean_text(text: str) -> str:
    """Unix newlines, and no control characters, byte order marks or lone surrogates."""
    return _CONTROL.sub(_drop_control, text.replace("\r\n", "\n").replace("\r", "\n"))


def _clean_line(text: str) -> str:
    return " ".join(_CONTROL.sub(_drop_control, text).split())


def _split_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """'a/b; x="1;2"; y=3' -> ('a/b', [('x', '1;2'), ('y', '3')]) in one linear pass."""
    pieces, buffer = [], []
    quoted = escaped = False
    for char in value:
        if escaped:
            buffer.append(char if char in '"\\' else "\\" + char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append("".join(buffer))
            buffer = []
        else:
            buffer.append(char)
    pieces.append("".join(buffer))
    params = []
    for piece in pieces[1:101]:
        name, equals, param = piece.partition("=")
        if equals and name.strip():
            params.append((name.strip().lower(), param.strip()))
    return pieces[0].strip().lower(), params


_EXTENDED_PARAM = re.compile(r"([^*]+)\*(\d{1,3})?(\*)?")


def _params(ctx: _Context, raw: str | None, where: str) -> tuple[str, dict[str, str]]:
    """The value and parameters of a Content-* header, RFC 2231 and RFC 2047 decoded."""
    value, pairs = _split_params(_unfold(raw or ""))
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for name, param in pairs:
        match = _EXTENDED_PARAM.fullmatch(name)
        if match is None:
            plain.setdefault(name, param)
            continue
        index = int(match[2]) if match[2] else 0
        encoded = match[2] is None or match[3] is not None  # "name*=" is encoded, "name*0=" not
        extended.setdefault(match[1], {}).setdefault(index, (encoded, param))
    result = {name: ctx.words(param, where) for name, param in plain.items()}
    for name, sections in extended.items():
        result[name] = _rfc2231(ctx, sections, where)
    return value, result


def _rfc2231(ctx: _Context, sections: dict[int, tuple[bool, str]], where: str) -> str:
    charset, data = "", bytearray()
    for position, (_, (encoded, value)) in enumerate(sorted(sections.items())):
        if encoded:
            if position == 0 and value.count("'") >= 2:
                charset, _language, value = value.split("'", 2)
            data += urllib.parse.unquote_to_bytes(_to_bytes(value))
        else:
            data += _to_bytes(value)
    return ctx.decode(bytes(data), charset, where)


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")


def _message_ids(ctx: _Context, raw: str | None, where: str) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, without <>, in order."""
    value = ctx.literal(_unfold(raw or ""), where)
    ids = _MESSAGE_ID.findall(value)
    if not ids:  # some mailers leave out the angle brackets
        ids = [token.strip("<>") for token in re.split(r"[\s,]+", value) if "@" in token]
    ids = list(dict.fromkeys(_CONTROL.sub("", i)[:998] for i in ids if i))
    return ids if len(ids) <= 100 else ids[:1] + ids[-99:]  # the root and the recent ones


def _content_id(ctx: _Context, raw: str | None) -> str | None:
    value = _clean_line(ctx.literal(_unfold(raw or ""), "Content-ID")).strip("<> ")
    return value[:250] or None


_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_COMMENT = re.compile(r"\(([^()]*)\)")
_QUOTED_PAIR = re.compile(r"\\(.)")


def _split_addresses(value: str) -> list[str]:
    """Splits an address list at top-level commas, skipping group names, in one linear pass."""
    items, buffer = [], []
    quoted = escaped = angle = False
    comment = 0
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or comment):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif comment:
            comment += {"(": 1, ")": -1}.get(char, 0)
        elif char in '"(<>':
            quoted, comment = char == '"', int(char == "(")
            angle = {"<": True, ">": False}.get(char, angle)
        elif char in ",;" and not angle:
            items.append("".join(buffer))
            buffer = []
            continue
        elif char == ":" and not angle:
            buffer = []  # "Group name:" starts a group
            continue
        buffer.append(char)
    items.append("".join(buffer))
    return [item for item in items[:500] if item.strip()]


def _mailbox(ctx: _Context, item: str, where: str) -> tuple[str, str]:
    """(display name, lower-case address) of one mailbox; the address is "" when unusable."""
    start = item.rfind("<")
    if start >= 0:
        end = item.find(">", start)
        address, name = item[start + 1 : end if end >= 0 else len(item)], item[:start]
    else:
        comment = _COMMENT.search(item)
        address, name = _COMMENT.sub(" ", item), comment[1] if comment else ""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = _QUOTED_PAIR.sub(r"\1", name[1:-1])
    name = ctx.header(name, where)
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":  # quotes inside an encoded word
        name = name[1:-1].strip()
    address = "".join(ctx.literal(address, where).split()).rpartition(":")[2].lower()
    if len(address) > 320 or not _ADDRESS.fullmatch(address):
        address = ""
    return name, _CONTROL.sub("", address)


def _mailboxes(ctx: _Context, raw: str | None, where: str) -> list[tuple[str, str]]:
    return [_mailbox(ctx, item, where) for item in _split_addresses(_unfold(raw or ""))]


def _addresses(ctx: _Context, raw: str | None, where: str) -> list[tuple[str, str]]:
    return [(name, address) for name, address in _mailboxes(ctx, raw, where) if address]


def _return_path(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = _clean_line(_unfold(raw))
    if "<>" in value or not value.strip("<> "):
        return ""
    match = re.search(r"<([^<>]*)>", value)
    return (match[1] if match else value).strip().lower()[:320]


def _parse_date(raw: str | None) -> datetime | None:
    value = _clean_line(_unfold(raw or ""))[:200]
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- HTML ----------------------------------------------------------------------------------------

_HTML_TAGS = {
    "p", "br", "div", "span", "b", "strong", "i", "em", "u", "ul", "ol", "li", "blockquote",
    "pre", "code", "a", "img", "table", "thead", "tbody", "tr", "td", "th",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
# Removed together with everything inside them.
_HTML_DROPPED = {
    "script", "style", "iframe", "object", "embed", "applet", "svg", "math", "form", "title",
    "template", "noscript", "frameset", "frame", "xml",
}  # fmt: skip
_HTML_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan"}}
_HTML_ATTRIBUTES["th"] = _HTML_ATTRIBUTES["td"]


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    """Only cid: images keep their source: a remote image in mail is a tracking beacon."""
    if tag == "img" and name == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


_HTML_CLEANER = nh3.Cleaner(
    tags=_HTML_TAGS,
    clean_content_tags=_HTML_DROPPED,
    attributes=_HTML_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    url_schemes={"http", "https", "mailto", "cid"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


_HTML_LIMIT = 1_000_000  # characters of HTML body rendered; the raw message keeps the rest
_MAX_HTML_DEPTH = 100
_MAX_HTML_TAGS = 20_000
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,30})[^<>]*>?")
_VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "image", "input", "link", "meta",
    "param", "source", "track", "wbr",
}  # fmt: skip
# Tags a browser closes when the next sibling opens, so they never nest by themselves.
_SIBLING_TAGS = {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option"}


def _bound_html(html: str) -> str:
    """Keeps the HTML5 parser behind nh3, and html.parser after it, fast: it takes quadratic
    time on deep nesting (40,000 nested <div>s take seconds), so opening tags nested deeper
    than any real mail, and all tags past a generous count, are dropped. Their text stays."""
    open_tags: dict[str, int] = {}
    depth = position = 0
    pieces = []
    for count, match in enumerate(_TAG.finditer(html)):
        if count == _MAX_HTML_TAGS:
            pieces.append(html[position : match.start()])
            return "".join(pieces) + _TAG.sub("", html[match.start() :])
        tag = match[2].lower()
        if match[1]:
            if open_tags.get(tag):
                open_tags[tag] -= 1
                depth -= 1
        elif tag not in _VOID_TAGS and tag not in _SIBLING_TAGS:
            if depth >= _MAX_HTML_DEPTH:
                pieces.append(html[position : match.start()])
                position = match.end()
                continue
            open_tags[tag] = open_tags.get(tag, 0) + 1
            depth += 1
    pieces.append(html[position:])
    return "".join(pieces)


def sanitize_html(html: str) -> str:
    """HTML safe to show in the desk: harmless formatting only, no scripts, styles, event
    handlers or dangerous URLs, and no remote images (only cid: ones)."""
    return _HTML_CLEANER.clean(_bound_html(_clean_text(html)))


_BLOCK_TAGS = {
    "p", "div", "li", "tr", "table", "thead", "tbody", "tfoot", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "header", "footer", "main", "nav", "aside", "address", "center", "caption", "figure",
    "figcaption", "details", "summary",
}  # fmt: skip
_TEXT_CLEANER = nh3.Cleaner(
    tags=_BLOCK_TAGS | {"br", "img", "td", "th"},
    clean_content_tags=_HTML_DROPPED,
    attributes={"img": {"alt"}},
    url_schemes=set(),
    link_rel=None,
    strip_comments=True,
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _TextExtractor(HTMLParser):
    """Plain text from well-formed HTML: blocks become lines, blockquotes become "> " quotes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.flush(force=True)
        elif tag in _BLOCK_TAGS:
            self.flush()
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append("\t")
        elif tag == "img":
            self.current.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag):
        if tag in _BLOCK_TAGS:
            self.flush()
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if not self.pre:
            self.current.append(_HTML_SPACE.sub(" ", data))
            return
        lines = data.split("\n")
        for line in lines[:-1]:
            self.current.append(line)
            self.flush(force=True)
        self.current.append(lines[-1])

    def flush(self, force: bool = False):
        raw = "".join(self.current)
        self.current = []
        line = raw.rstrip() if self.pre else raw.strip(" \t")
        if line == "--" and raw.endswith(" "):
            line = "-- "  # the signature separator keeps its space
        if line or force or "\xa0" in raw:  # <p>&nbsp;</p> is a deliberate empty line
            line = ">" * self.quote + (" " if self.quote else "") + line.replace("\xa0", " ")
            self.lines.append(line if line.endswith("-- ") else line.rstrip())

    def text(self) -> str:
        self.flush()
        text = "\n".join(self.lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail. The HTML is first normalised by nh3, so the stdlib
    parser only ever sees well-formed markup (its worst cases are quadratic on broken markup)."""
    extractor = _TextExtractor()
    extractor.feed(_TEXT_CLEANER.clean(_bound_html(_clean_text(html))))
    extractor.close()
    return _clean_text(extractor.text())  # character references can name control characters


def _quoted(body: str, level: int) -> str:
    return ">" * level + (" " if level and body else "") + body


def _unflow(text: str, delsp: bool) -> str:
    """Joins the soft line breaks of format=flowed text (RFC 3676), quote level by quote level."""
    lines: list[str] = []
    current, depth = None, 0
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        body = line[level:].removeprefix(" ")  # space-stuffing
        if current is not None and level != depth:
            lines.append(_quoted(current, depth))
            current = None
        joined = body if current is None else current + body
        if body.endswith(" ") and body != "-- ":
            current, depth = (joined[:-1] if delsp else joined), level
        else:
            lines.append(_quoted(joined, level))
            current = None
    if current is not None:
        lines.append(_quoted(current, depth))
    return "\n".join(lines)


# --- Trimming quoted history and signatures ------------------------------------------------------

_TRIM_LIMIT = 200_000  # characters of text the trimming rules look at

_ORIGINAL_MESSAGE = re.compile(
    r"-{2,}\s*(?:original message|原始邮件|原始郵件|原邮件|回复的原邮件|ursprüngliche nachricht"
    r"|message d'origine|mensaje original)\s*-{2,}",
    re.IGNORECASE,
)
_CJK_ATTRIBUTION_ENDS = ("写道：", "写道:", "寫道：", "寫道:")
_ATTRIBUTION_ENDS = ("wrote:", "schrieb:", "a écrit :", "a écrit:", *_CJK_ATTRIBUTION_ENDS)
_ATTRIBUTION_STARTS = ("on ", "am ", "le ", "在", "于")  # of attributions that may wrap
_FROM_LABELS = ("from:", "*from:*", "发件人:", "发件人：", "寄件者:", "寄件者：", "von:")
_SENT_LABELS = (
    "sent:", "*sent:*", "date:", "*date:*", "发送时间:", "发送时间：", "时间:", "时间：",
    "日期:", "日期：", "寄件日期:", "寄件日期：", "gesendet:",
)  # fmt: skip
_FORWARD_MARKERS = ("forwarded message", "begin forwarded message", "转发邮件", "转发的邮件")
_MOBILE_SIGNATURE = re.compile(
    r"(?:sent from my [\w ().-]{1,40}|sent from (?:yahoo mail|mail|outlook) for [\w ]{1,30}"
    r"|get outlook for (?:ios|android)|发自我的\s?[\w ]{1,20}|从我的\s?[\w ]{1,20}发送"
    r"|来自我的\s?[\w ]{1,20})[.!。]?",
    re.IGNORECASE,
)


def _is_attribution(lines: list[str], index: int) -> bool:
    """'On <date>, <name> wrote:' and its translations; Gmail wraps it over up to three lines."""
    joined = lines[index].strip().lower()
    if len(joined) < 400 and joined.endswith(_CJK_ATTRIBUTION_ENDS):
        return True
    if not joined.startswith(_ATTRIBUTION_STARTS):
        return False
    for following in [*lines[index + 1 : index + 3], ""]:
        if joined.endswith(_ATTRIBUTION_ENDS):
            return True
        if not following.strip() or len(joined) > 400:
            return False
        joined += " " + following.strip().lower()
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    """Outlook's 'From: … Sent: …' (or 发件人/发送时间) block, unless it heads a forward."""
    if not lines[index].strip().lower().startswith(_FROM_LABELS):
        return False
    if not any(
        line.strip().lower().startswith(_SENT_LABELS) for line in lines[index + 1 : index + 5]
    ):
        return False
    before = " ".join(lines[max(0, index - 3) : index]).lower()
    return not any(marker in before for marker in _FORWARD_MARKERS)


def _quote_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or len(stripped) > 1000 or stripped.startswith(">"):
            continue
        if _ORIGINAL_MESSAGE.fullmatch(stripped) or _is_attribution(lines, index):
            return index
        if _is_header_block(lines, index):
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            underline = previous >= 0 and set(lines[previous].strip()) == {"_"}
            return previous if underline else index
    return None


def _signature_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line == "-- " or (len(stripped) < 80 and _MOBILE_SIGNATURE.fullmatch(stripped)):
            return index
    return None


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end and lines[end - 1].strip().lower().endswith(_ATTRIBUTION_ENDS):  # "Ann wrote:"
        end -= 1
    return lines[:end]


def trim_reply(text: str) -> str:
    """What a ticket shows of a reply: the text without quoted history and signatures. Falls
    back to the full text rather than ever returning nothing."""
    head, tail = text[:_TRIM_LIMIT], text[_TRIM_LIMIT:]
    lines = head.split("\n")
    start = _quote_start(lines)
    if start is not None:
        kept = lines[:start]
        if not "".join(kept).strip():  # bottom-posting: the answer is below the quote
            kept = [line for line in lines[start + 1 :] if not line.lstrip().startswith(">")]
            skip = 0
            while skip < len(kept) and (
                not kept[skip].strip() or kept[skip].strip().lower().endswith(_ATTRIBUTION_ENDS)
            ):
                skip += 1
            kept = kept[skip:]
        lines, tail = kept, ""
    signature = _signature_start(lines)
    if signature is not None:
        lines, tail = lines[:signature], ""
    if not tail:
        lines = _drop_trailing_quote(lines)
    reply = ("\n".join(lines) + tail).strip()
    return reply or text.strip()


# --- Automation and bounces ----------------------------------------------------------------------

_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_OUT_OF_OFFICE = (
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
    "autoreply", "auto response", "autoresponse", "自动回复", "自動回覆", "自动答复",
    "abwesenheitsnotiz", "réponse automatique",
)  # fmt: skip
_BOUNCE_SUBJECTS = (
    "undeliverable", "undelivered mail", "delivery status notification", "mail delivery failed",
    "returned mail", "failure notice", "delivery failure", "delivery has failed", "退信",
    "未能送达", "无法投递", "投递失败",
)  # fmt: skip
_NEGATIVE = frozenset({"no", "false", "0", "off"})
_AUTOMATION_HEADERS = (
    "auto-submitted", "precedence", "x-autoreply", "x-autorespond", "x-auto-response-suppress",
    "list-id", "list-unsubscribe",
)  # fmt: skip


def _first_token(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _is_bounce_source(from_address: str, raw_from: str, is_report: bool) -> bool:
    local = from_address.partition("@")[0]
    return is_report or local in _DAEMONS or "mailer-daemon" in raw_from[:500].lower()


def _automation(
    fields: dict[str, str], subject: str, return_path: str | None, bounce: bool
) -> str | None:
    """None for a message a person wrote, else why it is automatic (RFC 3834 and practice)."""
    if bounce:
        return "bounce"
    submitted = _first_token(fields.get("auto-submitted"))
    precedence = _first_token(fields.get("precedence"))
    marked = {
        key for key in ("x-autoreply", "x-autorespond", "x-auto-response-suppress")
        if key in fields and _first_token(fields[key]) not in _NEGATIVE
    }  # fmt: skip
    automatic = bool(
        submitted not in ("", "no")
        or marked
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or return_path == ""
    )
    lowered = subject.lower()[:200]
    if automatic and any(word in lowered for word in _OUT_OF_OFFICE):
        return "auto_reply"
    if submitted not in ("", "no"):
        return "auto_reply" if submitted == "auto-replied" else "auto_generated"
    if marked or precedence == "auto_reply":
        return "auto_reply"
    if precedence in ("bulk", "junk"):
        return "bulk"
    if precedence == "list" or "list-id" in fields or "list-unsubscribe" in fields:
        return "list"
    if return_path == "":
        return "bounce" if any(word in lowered for word in _BOUNCE_SUBJECTS) else "auto_generated"
    return None


_MESSAGE_ID_LINE = re.compile(
    r"^[ \t]*(?:x-)?(?:original-)?message-id:[ \t]*(?:\n[ \t]+)?<([^<>\s]{1,998})>",
    re.IGNORECASE | re.MULTILINE,
)


def _id_in_text(text: str, own_id: str | None) -> str | None:
    for match in _MESSAGE_ID_LINE.finditer(text[:_TRIM_LIMIT]):
        if match[1] != own_id:
            return match[1]
    return None


# --- The parse -----------------------------------------------------------------------------------


@dataclass
class _Content:
    """What the walk over the parts finds."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)  # of returned messages, for bounces
    is_report: bool = False


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([\w.:+-]{1,40})", re.IGNORECASE)


def _safe_filename(name: str) -> str:
    # tickets.services imports models; importing it here keeps this module importable while
    # Django is still loading apps.
    from firstline.tickets.services import clean_filename

    return clean_filename(name)


def _extension(ctype: str) -> str:
    return (mimetypes.guess_extension(ctype) or "") if ctype else ""


def _payload(part: _Part) -> bytes:
    """The decoded bytes of a leaf; broken base64 or quoted-printable decodes as far as it can."""
    # The raw text: get_payload() would decode 8-bit bytes with the declared charset first.
    payload = getattr(part.msg, "_payload", None)
    if not isinstance(payload, str):
        return b""
    data = _to_bytes(payload)
    encoding = _first_token(part.headers.get("content-transfer-encoding"))
    if encoding == "base64":
        return _decode_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "uue", "x-uue"):
        decoded = part.msg.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    return data


class _Parser:
    def __init__(self, raw: bytes, limits: Limits, policy):
        self.raw, self.limits, self.policy = raw, limits, policy
        self.ctx = _Context()
        self.content = _Content()

    def run(self) -> ParsedMessage:
        root = _parse_tree(self.raw, self.limits, self.policy)
        parts = list(_walk(root, self.limits.max_depth))
        self.ctx.hint = self._charset_hint(parts)
        for part in parts:
            self._visit(part)
        return self._message(parts[0].headers)

    def _charset_hint(self, parts: list[_Part]) -> str | None:
        """The first declared charset that could have written raw 8-bit header bytes."""
        for part in parts:
            match = _CHARSET_PARAM.search(part.headers.get("content-type", ""))
            codec = normalize_charset(match[1]) if match and not part.embedded else None
            if codec and not codec.startswith(("utf-16", "utf-32", "utf-7")):
                return codec
        return None

    def _visit(self, part: _Part) -> None:
        if part.embedded:
            return
        if part.parent in _REPORT_TYPES:  # a per-message or per-recipient block of a DSN
            for key in ("original-message-id", "x-original-message-id"):
                self.content.original_ids += _message_ids(self.ctx, part.headers.get(key), key)
        elif part.msg.is_multipart():
            ctype = part.msg.get_content_type()
            self.content.is_report |= ctype in _REPORT_TYPES
            if ctype.startswith("message/") and ctype not in _REPORT_TYPES:
                self._attach_message(part, ctype)
        else:
            self._visit_leaf(part)

    def _visit_leaf(self, part: _Part) -> None:
        ctype, params = _params(self.ctx, part.headers.get("content-type"), "Content-Type")
        declared = bool(_MIME_TYPE.fullmatch(ctype)) and not ctype.startswith("multipart/")
        if not declared:
            ctype = "text/plain"  # what RFC 2045 says, and a multipart without boundary is text
        disposition, dparams = _params(
            self.ctx, part.headers.get("content-disposition"), "attachment name"
        )
        filename = dparams.get("filename") or params.get("name") or ""
        filename = filename if filename.strip() else ""
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            self._add_body(part, ctype, params)
        elif ctype == "text/rfc822-headers":
            text = self.ctx.decode(_payload(part), params.get("charset"), "returned headers")
            if found := _id_in_text(_clean_text(text), None):
                self.content.original_ids.append(found)
        else:
            self._attach(part, ctype if declared else "", disposition, filename)

    def _add_body(self, part: _Part, ctype: str, params: dict[str, str]) -> None:
        where = "HTML body" if ctype == "text/html" else "body"
        text = _clean_text(self.ctx.decode(_payload(part), params.get("charset"), where))
        if ctype == "text/html":
            self.content.htmls.append(text)
            return
        if params.get("format", "").lower() == "flowed":
            text = _unflow(text, params.get("delsp", "").lower() == "yes")
        self.content.texts.append(text)

    def _attach(self, part: _Part, ctype: str, disposition: str, filename: str) -> None:
        """A leaf that is not body text; `ctype` is "" when the declared type was invalid."""
        content_id = _content_id(self.ctx, part.headers.get("content-id"))
        if not (filename or disposition == "attachment" or content_id or ctype[:5] != "text/"):
            return  # a nameless alternative rendering such as text/enriched
        filename = _safe_filename(filename or "attachment" + _extension(ctype))
        self.content.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype
                or mimetypes.guess_type(filename)[0]
                or "application/octet-stream",
                content=_payload(part),
                content_id=content_id,
                inline=disposition == "inline" or (not disposition and content_id is not None),
            )
        )

    def _attach_message(self, part: _Part, ctype: str) -> None:
        """A forwarded or returned message becomes an .eml attachment named after its subject."""
        payload = part.msg.get_payload()
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        if inner is None:
            return
        headers = _headers(inner)
        self.content.original_ids += _message_ids(self.ctx, headers.get("message-id"), "header")
        subject = self.ctx.header(headers.get("subject"), "subject of a nested message")
        self.content.attachments.append(
            ParsedAttachment(
                filename=_safe_filename((subject[:140] or "message") + ".eml"),
                content_type=ctype,
                content=_serialize(inner),
                content_id=_content_id(self.ctx, part.headers.get("content-id")),
                inline=False,
            )
        )

    def _message(self, headers: dict[str, str]) -> ParsedMessage:
        ctx, content = self.ctx, self.content
        subject = ctx.header(headers.get("subject"), "subject")
        senders = _mailboxes(ctx, headers.get("from"), "From")
        from_name, from_address = next(
            (s for s in senders if s[1]), senders[0] if senders else ("", "")
        )
        return_path = _return_path(headers.get("return-path"))
        fields = {
            key: ctx.header(headers[key], key)[:998]
            for key in _AUTOMATION_HEADERS
            if key in headers
        }
        bounce = _is_bounce_source(from_address, headers.get("from", ""), content.is_report)
        automation = _automation(fields, subject, return_path, bounce)
        message_ids = _message_ids(ctx, headers.get("message-id"), "Message-ID")
        own_id = message_ids[0] if message_ids else None
        text, html = self._bodies()
        return ParsedMessage(
            message_id=own_id,
            in_reply_to=_message_ids(ctx, headers.get("in-reply-to"), "In-Reply-To"),
            references=_message_ids(ctx, headers.get("references"), "References"),
            subject=subject,
            from_address=from_address,
            from_name=from_name,
            to=_addresses(ctx, headers.get("to"), "To"),
            cc=_addresses(ctx, headers.get("cc"), "Cc"),
            reply_to=_addresses(ctx, headers.get("reply-to"), "Reply-To"),
            return_path=return_path,
            date=_parse_date(headers.get("date")),
            text=text,
            html=html,
            reply_text=trim_reply(text),
            attachments=content.attachments,
            automation=automation,
            bounced_message_id=(
                self._bounced_id(headers, own_id, text) if automation == "bounce" else None
            ),
            charset_warnings=ctx.warnings,
            header_fields=fields,
        )

    def _bounced_id(self, headers: dict[str, str], own_id: str | None, text: str) -> str | None:
        """The Message-ID of the message a bounce returns: from the returned message or headers,
        an Original-Message-ID field, or failing those a Message-ID line in the text."""
        originals = [i for i in self.content.original_ids if i != own_id]
        originals += _message_ids(self.ctx, headers.get("original-message-id"), "header")
        return originals[0] if originals else _id_in_text(text, own_id)

    def _bodies(self) -> tuple[str, str | None]:
        """The plain text (converted from HTML when there is no plain part) and the safe HTML."""
        source = "\n".join(self.content.htmls) if self.content.htmls else None
        if source is not None and len(source) > _HTML_LIMIT:
            self.ctx.warn(f"HTML body larger than {_size(_HTML_LIMIT)}: only its start is shown")
            source = source[:_HTML_LIMIT]
        text = "\n".join(self.content.texts)
        if not text.strip() and source:
            text = html_to_text(source)
        text = text.rstrip().lstrip("\n")
        return text, sanitize_html(source).strip() if source is not None else None


def _size(limit: int) -> str:
    if limit >= _MB:
        return f"{limit / _MB:.4g} MB"
    if limit >= 1024:
        return f"{limit / 1024:.4g} KB"
    return f"{limit} bytes"


def _unparseable(raw: bytes) -> ParsedMessage:
    """The last resort: the message as text, so that mail is never lost to a parser bug."""
    text = _clean_text(raw.decode("utf-8", "replace")).strip()
    return ParsedMessage(
        message_id=None, in_reply_to=[], references=[], subject="", from_address="",
        from_name="", to=[], cc=[], reply_to=[], return_path=None, date=None, text=text,
        html=None, reply_text=text, attachments=[], automation=None, bounced_message_id=None,
        charset_warnings=["the message structure could not be parsed: kept as raw text"],
        header_fields={},
    )  # fmt: skip


def _note_failure(policy) -> None:
    logger.warning("Parsing a message with %s failed", type(policy).__name__, exc_info=True)


_DEFAULT_LIMITS = Limits()


def parse_message(raw: bytes, limits: Limits = _DEFAULT_LIMITS) -> ParsedMessage:
    """Parses one raw message. Raises MessageRejected when it is over a limit, nothing else."""
    raw = bytes(raw)
    if len(raw) > limits.max_bytes:
        raise MessageRejected(f"The message is larger than the limit of {_size(limits.max_bytes)}.")
    for policy in (_POLICY, _FALLBACK_POLICY):
        try:
            return _Parser(raw, limits, policy).run()
        except MessageRejected:
            raise
        except Exception:  # hostile input must never stop the mailbox; parse it more simply
            _note_failure(policy)
    return _unparseable(raw)
