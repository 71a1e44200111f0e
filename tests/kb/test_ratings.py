import pytest
from django.urls import reverse

from firstline.kb.models import Rating

pytestmark = pytest.mark.django_db


def test_a_reader_rates_once_and_may_change_their_mind(client, desk, article):
    item = article()
    client.force_login(desk.alice)
    url = reverse("kb:rate", args=[item.pk])
    assert client.post(url, {"helpful": "no", "comment": "Step 3 is missing."}).status_code == 302
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    rating = Rating.objects.get(article=item)
    assert rating.helpful is True and rating.comment == ""


def test_agents_see_ratings_and_comments_requesters_do_not(client, desk, article):
    item = article()
    client.force_login(desk.alice)
    client.post(reverse("kb:rate", args=[item.pk]), {"helpful": "no", "comment": "Unclear."})
    client.force_login(desk.bob)
    page = client.get(reverse("kb:article", args=[item.pk])).content.decode()
    assert "Unclear." not in page
    client.force_login(desk.l1_agent)
    for url in (
        reverse("kb:article", args=[item.pk]),
        reverse("kb:manage_article", args=[item.pk]),
    ):
        assert "Unclear." in client.get(url).content.decode()
    listing = client.get(reverse("kb:manage_list")).content.decode()
    assert "0 / 1" in listing


def test_rating_needs_a_choice_and_a_login(client, desk, article):
    item = article()
    url = reverse("kb:rate", args=[item.pk])
    assert client.post(url, {"helpful": "yes"}).status_code == 302  # to the login page
    assert not Rating.objects.exists()
    client.force_login(desk.alice)
    assert client.post(url, {"comment": "no choice"}).status_code == 400
    assert not Rating.objects.exists()


def test_an_article_the_reader_may_not_see_cannot_be_rated(client, desk, article):
    item = article(visibility="internal")
    client.force_login(desk.alice)
    assert client.post(reverse("kb:rate", args=[item.pk]), {"helpful": "yes"}).status_code == 404
