import pytest
from django.urls import reverse

from firstline.core.errors import Conflict
from firstline.kb import selectors, services

pytestmark = pytest.mark.django_db


def test_every_change_of_text_is_a_revision_and_the_diff_shows_it(desk, article):
    item = article(title="VPN", body="Step one.\nStep two.\nStep three.")
    services.update_article(
        actor=desk.l1_agent, article=item, body="Step one.\nStep 2, better.\nStep three."
    )
    services.update_article(actor=desk.l1_agent, article=item, language="zh-hans")  # no text
    revisions = list(selectors.article_revisions(item))
    assert [r.number for r in revisions] == [2, 1]
    previous, lines = selectors.revision_diff(revisions[0])
    assert previous.number == 1
    changed = {(line.kind, line.text) for line in lines if line.kind != "same"}
    assert changed == {("removed", "Step two."), ("added", "Step 2, better.")}


def test_restore_makes_a_new_revision_with_the_old_text(desk, article):
    item = article(title="Old title", body="Old text.")
    services.update_article(actor=desk.l1_agent, article=item, title="New", body="New text.")
    first = selectors.get_revision(item, 1)
    restored = services.restore_revision(actor=desk.l1_agent, article=item, revision=first)
    assert (restored.title, restored.body) == ("Old title", "Old text.")
    assert "<p>Old text.</p>" in restored.body_html
    latest = selectors.article_revisions(item).first()
    assert latest.number == 3 and latest.note == "Restored revision 1"


def test_restore_through_the_desk_pages(client, desk, article):
    item = article(title="Printer", body="Line A")
    services.update_article(actor=desk.l1_agent, article=item, body="Line B")
    client.force_login(desk.l1_agent)
    diff = client.get(reverse("kb:manage_revision", args=[item.pk, 2])).content.decode()
    assert 'class="removed">Line A' in diff and 'class="added">Line B' in diff
    response = client.post(reverse("kb:manage_revision", args=[item.pk, 1]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.body == "Line A" and item.revisions.count() == 3


def test_a_stale_edit_is_refused(desk, article):
    item = article()
    services.update_article(actor=desk.l1_agent, article=item, title="Changed meanwhile")
    with pytest.raises(Conflict):
        services.update_article(actor=desk.l2_agent, article=item, title="Mine", expected_version=1)


def test_a_stale_edit_in_the_form_keeps_what_was_typed(client, desk, article):
    item = article()
    services.update_article(actor=desk.l1_agent, article=item, title="Changed meanwhile")
    client.force_login(desk.l2_agent)
    form = {"title": "My title", "body": "My text", "language": "en", "visibility": "public"}
    response = client.post(reverse("kb:manage_edit", args=[item.pk]), {**form, "version": 1})
    assert response.status_code == 400
    assert "My text" in response.content.decode()
    item.refresh_from_db()
    assert item.title == "Changed meanwhile"
