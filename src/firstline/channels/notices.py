"""Many notifications at once (an SLA sweep, a mass escalation).

A person told about a few tickets gets one message per ticket, threaded with the ticket; a
person who would get more than DIGEST_AFTER messages from one batch gets one digest listing
them instead: a breach storm must not bury an agent under hundreds of e-mails, and one
digest costs the sweep far less than hundreds of rendered messages.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

from firstline.accounts.models import User
from firstline.tickets.models import Ticket

from . import outbound

DIGEST_AFTER = 3  # more notices than this for one person and kind in one batch: a digest
DIGEST_LINES = 20  # tickets listed in a digest; the rest are counted (and in the desk)


@dataclass
class Notice:
    """One thing to tell `people` about one ticket. `context(language)` is the e-mail
    template's context in that language; `data` the language-neutral facts kept in-app."""

    kind: str
    ticket: Ticket
    people: list[User]
    context: Callable[[str], dict]
    data: dict = field(default_factory=dict)
    _contexts: dict = field(default_factory=dict, repr=False)

    def context_in(self, language: str) -> dict:
        if language not in self._contexts:
            self._contexts[language] = self.context(language)
        return self._contexts[language]


@dataclass
class Plan:
    """Who gets what: `single` notices with the people told about them one by one, and per
    (person, kind) the notices that go into one digest."""

    single: list[tuple[Notice, list[User]]]
    digests: dict[tuple[int, str], tuple[User, list[Notice]]]


def plan(notices: Iterable[Notice]) -> Plan:
    notices = list(notices)
    # Notices often share one list of people (a group's members): each list is split once.
    lists = {id(n.people): n.people for n in notices}
    pks = {key: [person.pk for person in people] for key, people in lists.items()}
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for (key, kind), times in Counter((id(n.people), n.kind) for n in notices).items():
        for pk in pks[key]:
            counts[pk, kind] += times
    splits: dict[tuple[int, str], tuple[list[User], list]] = {}
    single, digests = [], {}
    for notice in notices:
        split = (id(notice.people), notice.kind)
        if split not in splits:
            splits[split] = _split(notice, pks[split[0]], counts)
        one_by_one, digested = splits[split]
        for key, person in digested:
            digests.setdefault(key, (person, []))[1].append(notice)
        if one_by_one:
            single.append((notice, list(one_by_one)))
    return Plan(single, digests)


def _split(notice: Notice, pks: list[int], counts: dict) -> tuple[list[User], list]:
    """The notice's people told one by one, and (key, person) of those who get a digest."""
    one_by_one, digested = [], []
    for person, pk in zip(notice.people, pks, strict=True):
        key = (pk, notice.kind)
        if counts[key] <= DIGEST_AFTER:
            one_by_one.append(person)
        else:
            digested.append((key, person))
    return one_by_one, digested


def language_of(user: User) -> str:
    return user.language or settings.LANGUAGE_CODE


def queue_emails(notices_plan: Plan, *, digest_context: Callable[[str], dict]) -> int:
    """Writes the plan's e-mails to the outbox (people without an address are skipped);
    digests use the template `<kind>_digest`. Returns how many messages were queued."""
    items = []
    for notice, people in notices_plan.single:
        by_language = defaultdict(list)
        for person in people:
            if person.email:
                by_language[language_of(person)].append(person.email)
        for language, recipients in sorted(by_language.items()):
            items.append(
                {
                    "kind": notice.kind,
                    "ticket": notice.ticket,
                    "recipients": recipients,
                    "language": language,
                    "context": notice.context_in(language),
                }
            )
    for (_pk, kind), (person, notices) in notices_plan.digests.items():
        if not person.email:
            continue
        language = language_of(person)
        items.append(
            {
                "kind": f"{kind}_digest",
                "ticket": None,
                "recipients": [person.email],
                "language": language,
                "context": {
                    **digest_context(language),
                    "count": len(notices),
                    "items": [n.context_in(language) for n in notices[:DIGEST_LINES]],
                    "more": max(0, len(notices) - DIGEST_LINES),
                },
            }
        )
    return len(outbound.queue_many(items))
