import pytest

from firstline.core.demo import CATEGORIES
from firstline.kb import selectors
from firstline.kb.demo import ARTICLES, create_demo_articles
from firstline.kb.models import Article, ArticleStatus
from firstline.tickets import services as ticket_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_articles(desk):
    categories = {}
    for name, children in CATEGORIES.items():
        parent = ticket_services.create_category(actor=None, name=name)
        for child in children:
            node = ticket_services.create_category(actor=None, name=child, parent=parent)
            categories[node.full_name] = node
    huaxun = desk.acme  # the demo's Shanghai client, played here by Acme
    create_demo_articles(
        author=desk.supervisor, categories=categories, organizations={"huaxun": huaxun}
    )


def test_every_demo_article_has_a_known_category():
    known = {f"{parent} > {child}" for parent, kids in CATEGORIES.items() for child in kids}
    assert {a.category for a in ARTICLES} <= known


def test_at_least_30_published_articles_in_both_languages(demo_articles):
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED)
    assert published.count() >= 30
    english = published.filter(language="en").count()
    chinese = published.filter(language="zh-hans").count()
    assert abs(english - chinese) <= 3
    assert all(a.body_html.startswith("<") for a in published)


@pytest.mark.parametrize(
    "q",
    ["password", "VPN", "printer", "phone", "laptop", "Wi-Fi", "install", "密码", "打印机", "手机"],
)
def test_the_common_calls_are_covered(desk, demo_articles, q):
    assert selectors.search_articles(desk.carol, q)
