"""What searchers find: only what they may see, best first, with safe highlighted snippets."""

import pytest
from django.contrib.auth.models import AnonymousUser

from firstline.core.errors import InvalidInput
from firstline.search import selectors as search_selectors
from firstline.search import services
from firstline.search.selectors import search
from firstline.tickets import services as ticket_services

from ..factories import ArticleFactory

pytestmark = pytest.mark.django_db


def found(user, q, kinds=("ticket",), **options):
    return [(h.kind, h.object_id) for h in search(user=user, q=q, kinds=kinds, **options)]


def ticket_numbers(user, q, **options):
    return [number for _kind, number in found(user, q, **options)]


@pytest.fixture
def printers(desk, new_ticket):
    """One printer ticket per organization, in the groups of the two agents."""

    def opened(requester, group, subject):
        return ticket_services.create_ticket(
            actor=desk.supervisor, requester=requester, group=group, subject=subject
        )

    acme = opened(desk.alice, desk.l1, "Printer jam")
    globex = opened(desk.carol, desk.l2, "Printers all offline")
    return acme, globex


def test_requesters_never_find_other_organizations_tickets(desk, printers):
    acme, globex = printers
    assert ticket_numbers(desk.alice, "printer") == [acme.pk]
    assert ticket_numbers(desk.carol, "printer") == [globex.pk]
    assert ticket_numbers(desk.bob, "printer") == []
    assert ticket_numbers(desk.acme_manager, "printer") == [acme.pk]
    assert ticket_numbers(desk.carol, f"#{acme.pk}") == []


def test_requesters_with_many_tickets_are_kept_apart_too(desk, printers, new_ticket, monkeypatch):
    """Beyond FEW_TICKETS visible tickets, SQLite walks the matches instead (same answers)."""
    monkeypatch.setattr(search_selectors, "FEW_TICKETS", 0)
    acme, globex = printers
    note = new_ticket(requester=desk.alice, subject="Printer toner")
    ticket_services.add_comment(
        actor=desk.supervisor, ticket=note, body="secret", channel="web", public=False
    )
    assert sorted(ticket_numbers(desk.alice, "printer")) == [acme.pk, note.pk]
    assert ticket_numbers(desk.carol, "printer") == [globex.pk]
    assert ticket_numbers(desk.alice, "secret") == []


def test_agents_find_the_tickets_they_may_see(desk, printers):
    acme, globex = printers
    assert ticket_numbers(desk.l1_agent, "printers") == [acme.pk]
    assert ticket_numbers(desk.l2_agent, "printers") == [globex.pk]
    assert sorted(ticket_numbers(desk.supervisor, "printers")) == [acme.pk, globex.pk]


def test_a_ticket_number_comes_first(desk, new_ticket):
    first = new_ticket(subject="VPN drops")
    mention = new_ticket(subject=f"Same as {first.pk} again")
    assert ticket_numbers(desk.supervisor, f"#{first.pk}") == [first.pk, mention.pk]
    assert ticket_numbers(desk.supervisor, str(first.pk))[0] == first.pk


def test_chinese_words_of_two_and_more_characters(desk, new_ticket):
    printer = new_ticket(subject="打印机无法连接", description="请尽快处理")
    password = new_ticket(subject="忘记密码了", description="需要重置")
    assert ticket_numbers(desk.supervisor, "打印机") == [printer.pk]
    assert ticket_numbers(desk.supervisor, "密码") == [password.pk]
    assert ticket_numbers(desk.supervisor, "密") == [password.pk]
    assert ticket_numbers(desk.supervisor, "印机连") == []
    assert ticket_numbers(desk.supervisor, "无法连接，") == [printer.pk]


def test_mixed_and_full_width_queries(desk, new_ticket):
    ticket = new_ticket(subject="VPN连接失败", description="Cisco AnyConnect 报错 412")
    assert ticket_numbers(desk.supervisor, "vpn 连接") == [ticket.pk]
    assert ticket_numbers(desk.supervisor, "ＡｎｙＣｏｎｎｅｃｔ　４１２") == [ticket.pk]
    assert ticket_numbers(desk.supervisor, "anyconnect 打印") == []


def test_better_matches_rank_first(desk, new_ticket):
    title = new_ticket(subject="Outlook crashes", description="since the update")
    body = new_ticket(subject="Mail problem", description="Sometimes outlook is slow")
    assert ticket_numbers(desk.supervisor, "outlook") == [title.pk, body.pk]


def test_prefix_search_finds_unfinished_words(desk, new_ticket):
    ticket = new_ticket(subject="Keyboard replacement")
    assert ticket_numbers(desk.supervisor, "keyb") == []
    assert ticket_numbers(desk.supervisor, "keyb", prefix=True) == [ticket.pk]


def test_any_word_finds_partial_matches(desk, new_ticket):
    ticket = new_ticket(subject="Monitor flickers")
    assert ticket_numbers(desk.supervisor, "monitor cable") == []
    assert ticket_numbers(desk.supervisor, "monitor cable", any_word=True) == [ticket.pk]


def test_filters(desk, printers):
    acme, _globex = printers
    by_org = {"organization": desk.acme.pk}
    assert ticket_numbers(desk.supervisor, "printer", filters=by_org) == [acme.pk]
    assert ticket_numbers(desk.supervisor, "printer", filters={"status": ["closed"]}) == []
    with pytest.raises(InvalidInput):
        search(user=desk.supervisor, q="printer", filters={"colour": "red"})


def test_snippets_are_escaped_and_highlight_matches(desk, new_ticket):
    ticket = new_ticket(
        subject="<script>alert(1)</script> printer",
        description="The <b>printer</b> & scanner on floor 3",
    )
    (hit,) = search(user=desk.supervisor, q="printer", kinds=("ticket",))
    assert hit.title == "<script>alert(1)</script> printer"  # plain text: templates escape it
    assert hit.snippet == "The &lt;b&gt;<mark>printer</mark>&lt;/b&gt; &amp; scanner on floor 3"
    assert hit.url == f"/desk/tickets/{ticket.pk}/"
    (mine,) = search(user=desk.alice, q="printer", kinds=("ticket",))
    assert mine.url == f"/requests/{ticket.pk}/"


def test_snippets_of_requesters_never_show_internal_notes(desk, new_ticket):
    ticket = new_ticket(subject="Disk full")
    ticket_services.add_comment(
        actor=desk.supervisor, ticket=ticket, body="disk secret", channel="web", public=False
    )
    (agent_hit,) = search(user=desk.supervisor, q="disk secret", kinds=("ticket",))
    assert "secret" in agent_hit.snippet
    (hit,) = search(user=desk.alice, q="disk", kinds=("ticket",))
    assert "secret" not in hit.snippet


@pytest.mark.parametrize("q", ["", "   ", "x" * 201, "?!。，", "the of and"])
def test_queries_with_nothing_to_search_are_refused(desk, q):
    with pytest.raises(InvalidInput):
        search(user=desk.supervisor, q=q)


def article(title, body, **fields):
    row = ArticleFactory(title=title, body=body, **fields)
    services.index_document(
        kind="article", object_id=row.pk, title=title, body=body, language=row.language
    )
    return row


def test_articles_follow_their_visibility(desk):
    public = article("Reset your password", "Use the portal to 重置密码.")
    internal = article("Password vault", "Admins only", visibility="internal")
    limited = article("Globex password policy", "x", visibility="organizations")
    limited.organizations.set([desk.globex])
    both = ("ticket", "article")
    assert found(desk.alice, "password", kinds=both) == [("article", public.pk)]
    carol = found(desk.carol, "password", kinds=both)
    assert sorted(carol) == sorted([("article", public.pk), ("article", limited.pk)])
    assert len(found(desk.l1_agent, "password", kinds=("article",))) == 3
    assert found(desk.alice, "密码", kinds=both) == [("article", public.pk)]
    assert internal.pk not in [pk for _k, pk in found(desk.alice, "vault", kinds=both)]


def test_anonymous_readers_find_public_articles_only(desk, new_ticket):
    public = article("Printer setup", "Add the printer")
    article("Printer internals", "x", visibility="internal")
    new_ticket(subject="Printer broken")
    hits = found(AnonymousUser(), "printer", kinds=("ticket", "article"))
    assert hits == [("article", public.pk)]


def test_articles_filtered_by_language(desk):
    english = article("VPN setup", "Install the client", language="en")
    article("VPN 设置", "安装客户端", language="zh-hans")
    hits = found(desk.alice, "vpn", kinds=("article",), filters={"language": ["en"]})
    assert hits == [("article", english.pk)]


def test_a_search_costs_a_few_queries_however_many_hits(
    desk, new_ticket, django_assert_max_num_queries
):
    for n in range(30):
        new_ticket(subject=f"Printer {n}", description="Paper jam again")
    article("Printer jams", "Open the tray")
    with django_assert_max_num_queries(7):
        hits = search(user=desk.supervisor, q="printer", limit=40)
    assert len(hits) == 31


def test_agents_get_the_same_hits_when_searching_slice_by_slice(desk, printers, monkeypatch):
    """PostgreSQL looks among the newest tickets first (a slice of one ticket here)."""
    monkeypatch.setattr(search_selectors, "FIRST_SLICE", 1)
    monkeypatch.setattr(search_selectors, "SPARSE", 0)
    acme, globex = printers
    assert ticket_numbers(desk.l1_agent, "printer") == [acme.pk]
    assert sorted(ticket_numbers(desk.supervisor, "printer")) == [acme.pk, globex.pk]
