"""Turns text into the search tokens that both databases index, and queries into their terms.

Why our own tokenizer rather than the databases' own: neither SQLite's FTS5 nor PostgreSQL's
text search splits Chinese (written without spaces) into words, and a trigram index cannot
find two-character words such as 密码. So Python makes one token string per document, the
same for both databases, and each database only splits it on spaces:

- Latin (and other spaced) scripts: lowercase words after NFKC (full-width ｐｒｉｎｔｅｒ and
  １２３ become printer and 123), with a light English plural stemmer (printers -> printer,
  batteries -> battery, boxes -> box) applied to documents and queries alike. Hyphenated words
  also yield their joined form (wi-fi -> wi, fi, wifi). A few very common English words are
  dropped: they match nearly every ticket and would only slow queries down.
- CJK (Chinese, Japanese kana, Korean): every run of characters becomes its overlapping
  bigrams (打印机无法连接 -> 打印 印机 机无 无法 法连 连接); a run of one character is kept
  as it is. A query run matches as a phrase of its bigrams, so 打印机 finds 打印机无法连接
  but not 打印 ... 印机 apart; a one-character query matches as a prefix.
- Numbers are words: `#1042` is the token 1042 (and selectors look ticket numbers up directly).
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # extensions B-G
)
# A CJK run, or a word of other letters/digits possibly joined by hyphens (wi-fi, e-mail).
TOKEN_RE = re.compile(rf"([{CJK}]+)|([^\W_{CJK}]+(?:-[^\W_{CJK}]+)*)")
CJK_RE = re.compile(rf"[{CJK}]+")
MAX_WORD_LENGTH = 40  # longer "words" are hashes, base64 or URLs: not worth an index entry

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "were",
        "will",
        "with",
        "you",
        "your",
    ]
)


def normalize(text: str) -> str:
    """Full-width and compatibility forms folded (ＡＢＣ１２３ -> abc123), lowercased."""
    return unicodedata.normalize("NFKC", text).casefold()


def stem(word: str) -> str:
    """A light English plural stemmer (Harman's S-stemmer), so printer ~ printers."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def cjk_bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


@functools.lru_cache(maxsize=100_000)  # a help desk's vocabulary is small: reindexing speed
def _word_tokens(word: str) -> tuple[str, ...]:
    parts = [stem(p) for p in word.split("-") if p]
    tokens = [p for p in parts if p not in STOPWORDS and len(p) <= MAX_WORD_LENGTH]
    if len(parts) > 1:
        joined = stem("".join(p for p in word.split("-")))
        if len(joined) <= MAX_WORD_LENGTH:
            tokens.append(joined)
    return tuple(tokens)


@functools.lru_cache(maxsize=100_000)
def _match_tokens(cjk: str, word: str) -> tuple[str, ...]:
    return tuple(cjk_bigrams(cjk)) if cjk else _word_tokens(word)


def tokenize(text: str) -> list[str]:
    """The tokens of a document's text, in order (positions matter for phrases)."""
    tokens: list[str] = []
    for cjk, word in TOKEN_RE.findall(normalize(text or "")):
        tokens.extend(_match_tokens(cjk, word))
    return tokens


def token_string(*texts: str) -> str:
    """What gets indexed: the tokens of `texts`, space-separated."""
    return " ".join(token for text in texts for token in tokenize(text))


@dataclass(frozen=True)
class Term:
    """One thing a query asks for: a word, a phrase of CJK bigrams, or a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]
    words: frozenset[str]  # stemmed words, for highlighting
    cjk: tuple[str, ...]  # CJK runs as typed, for highlighting
    number: int | None  # `123` or `#123`: a ticket number

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_query(q: str, *, prefix: bool = False) -> ParsedQuery:
    """Query text -> terms that must all match. With `prefix`, an unfinished last word (as
    typed in a search-as-you-type box) matches as a prefix."""
    text = normalize(q)
    unfinished = prefix and not text[-1:].isspace()  # "vpn conn" yes, "vpn conn " no
    text = text.strip()
    stripped = text.lstrip("#")
    number = int(stripped) if stripped.isdigit() and len(stripped) < 10 else None
    terms: list[Term] = []
    words: set[str] = set()
    cjk_runs: list[str] = []
    matches = list(TOKEN_RE.finditer(text))
    for index, match in enumerate(matches):
        cjk, word = match.groups()
        if cjk:
            cjk_runs.append(cjk)
            bigrams = cjk_bigrams(cjk)
            terms.append(Term(tuple(bigrams), prefix=len(cjk) == 1))
            continue
        word = word.replace("-", "")
        is_last = index == len(matches) - 1 and match.end() == len(text)
        if unfinished and is_last and word.isalnum() and len(word) >= 2 and word.isascii():
            terms.append(Term((word,), prefix=True))
            words.add(word)
            continue
        token = stem(word)
        if token in STOPWORDS or len(token) > MAX_WORD_LENGTH:
            continue
        terms.append(Term((token,)))
        words.add(token)
    unique = tuple(dict.fromkeys(terms))
    return ParsedQuery(unique, frozenset(words), tuple(dict.fromkeys(cjk_runs)), number)


@functools.lru_cache(maxsize=100_000)
def _word_forms(word: str) -> tuple[str, frozenset[str]]:
    """A word of a text as typed -> (its normalized form, the stems a query may match)."""
    normalized = normalize(word)
    parts = [p for p in normalized.split("-") if p]
    forms = {stem(normalized.replace("-", "")), stem(normalized), *map(stem, parts)}
    return normalized, frozenset(forms)


def spans(text: str, query: ParsedQuery, *, within: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of the query's matches in `text`, in order, not overlapping; with
    `within`, only those up to that many characters after the first (for a snippet)."""
    found: list[tuple[int, int]] = []
    prefixes = tuple(t.tokens[0] for t in query.terms if t.prefix and t.tokens[0].isascii())
    for match in TOKEN_RE.finditer(text):
        if within is not None and found and match.start() > found[0][0] + within:
            break
        if match.group(1):
            run = normalize(match.group(1))
            if len(run) != len(match.group(1)):
                continue
            for needle in query.cjk:
                start = run.find(needle)
                while start != -1:
                    offset = match.start() + start
                    found.append((offset, offset + len(needle)))
                    start = run.find(needle, start + len(needle))
            continue
        normalized, forms = _word_forms(match.group(2))
        if not forms.isdisjoint(query.words) or (prefixes and normalized.startswith(prefixes)):
            found.append(match.span())
    found.sort()
    result: list[tuple[int, int]] = []
    for start, stop in found:
        if not result or start >= result[-1][1]:
            result.append((start, stop))
    return result
