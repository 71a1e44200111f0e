"""Articles are found in English and in Chinese, as soon as they are published, and no longer
once archived."""

import pytest
from django.urls import reverse

from firstline.kb import selectors, services
from firstline.kb.models import ArticleStatus, Language

pytestmark = pytest.mark.django_db


@pytest.fixture
def printers(article):
    return (
        article(title="Printers: fixing paper jams", body="Open tray 2 and remove the paper."),
        article(
            title="打印机无法连接怎么办",
            body="请先检查打印机是否开机，然后重新添加网络打印机。忘记密码请看另一篇文章。",
            language=Language.CHINESE,
        ),
    )


def found(user, q):
    return [hit.title for hit in selectors.search_articles(user, q)]


def test_english_words_find_articles_with_their_plural(desk, printers):
    assert found(desk.alice, "printer") == ["Printers: fixing paper jams"]
    assert found(desk.alice, "paper jam") == ["Printers: fixing paper jams"]


def test_chinese_words_find_articles_without_spaces(desk, printers):
    assert found(desk.alice, "打印机") == ["打印机无法连接怎么办"]
    assert found(desk.alice, "密码") == ["打印机无法连接怎么办"]  # two characters


def test_hits_have_highlighted_snippets(desk, printers):
    (hit,) = selectors.search_articles(desk.alice, "tray")
    assert "<mark>" in hit.snippet


def test_a_new_article_is_found_once_published_and_lost_once_archived(desk, article):
    draft = article(title="Wi-Fi on the guest network", status=ArticleStatus.DRAFT)
    assert found(desk.l1_agent, "guest network") == []
    services.set_status(actor=desk.supervisor, article=draft, status=ArticleStatus.PUBLISHED)
    assert found(desk.l1_agent, "guest network") == ["Wi-Fi on the guest network"]
    services.set_status(actor=desk.supervisor, article=draft, status=ArticleStatus.ARCHIVED)
    assert found(desk.l1_agent, "guest network") == []


def test_an_edited_title_is_searchable_at_once(desk, article):
    item = article(title="Mailbox full")
    services.update_article(actor=desk.l1_agent, article=item, title="Mailbox quota exceeded")
    assert found(desk.alice, "quota") == ["Mailbox quota exceeded"]


def test_portal_search_page_in_both_languages(client, desk, printers):
    client.force_login(desk.alice)
    page = client.get(reverse("kb:search"), {"q": "打印机"}).content.decode()
    assert "打印机无法连接怎么办" in page and "<mark>" in page
    page = client.get(reverse("kb:search"), {"q": "printer"}).content.decode()
    assert "Printers: fixing paper jams" in page


def test_portal_search_says_when_a_query_cannot_be_searched(client, desk, printers):
    response = client.get(reverse("kb:search"), {"q": "!!!"})
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()


def test_reindexing_makes_published_articles_searchable_again(desk, printers, article):
    from firstline.search import services as search_services

    article(title="Draft about printers", status=ArticleStatus.DRAFT)
    search_services.reindex(kinds=("article",))
    assert found(desk.alice, "打印机") == ["打印机无法连接怎么办"]
    assert services.reindex_articles() == 2
    assert found(desk.l1_agent, "printer") == ["Printers: fixing paper jams"]
