"""Who the sweep tells one by one and who gets a digest (channels.notices.plan): the sweep
hands it one list of people for all the tickets that go to the same people, which must give
the plan that a list per ticket gives."""

import pytest

from firstline.channels import notices

from ..factories import AgentFactory

pytestmark = pytest.mark.django_db


def _notice(kind, people, number):
    return notices.Notice(kind=kind, ticket=None, people=people, context=lambda _l: {"n": number})


def _shape(plan):
    single = [(n.context_in("en")["n"], [p.pk for p in people]) for n, people in plan.single]
    digests = [
        (key, person.pk, [n.context_in("en")["n"] for n in items])
        for key, (person, items) in plan.digests.items()
    ]
    return single, digests


def test_shared_lists_of_people_give_the_plan_of_separate_lists():
    ann, bob, cid, dan = (AgentFactory(username=name) for name in ("ann", "bob", "cid", "dan"))
    group = [ann, bob]  # ann and bob hear of every ticket; cid of two; dan of one, twice
    rows = [
        ("sla_breach", [cid, *group]),
        ("sla_breach", group),
        ("sla_warning", group),
        ("sla_breach", group),
        ("sla_breach", [dan, *group, dan]),
        ("sla_breach", [cid, *group]),
        ("sla_breach", group),
    ]
    shared = {}
    together = [
        _notice(kind, shared.setdefault(tuple(p.pk for p in people), people), n)
        for n, (kind, people) in enumerate(rows)
    ]
    apart = [_notice(kind, list(people), n) for n, (kind, people) in enumerate(rows)]

    single, digests = _shape(notices.plan(together))

    assert (single, digests) == _shape(notices.plan(apart))
    # More than DIGEST_AFTER (3) breaches: ann and bob get a digest; the one warning, cid's two
    # breaches and dan's (listed twice) come one by one.
    assert single == [(0, [cid.pk]), (2, [ann.pk, bob.pk]), (4, [dan.pk, dan.pk]), (5, [cid.pk])]
    assert digests == [
        ((ann.pk, "sla_breach"), ann.pk, [0, 1, 3, 4, 5, 6]),
        ((bob.pk, "sla_breach"), bob.pk, [0, 1, 3, 4, 5, 6]),
    ]
