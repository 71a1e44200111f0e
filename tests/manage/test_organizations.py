from django.urls import reverse

from firstline.accounts.models import Organization, OrganizationDomain


def test_supervisor_creates_an_organization_and_adds_a_domain(as_supervisor):
    response = as_supervisor.post(
        reverse("manage:organization_create"), {"slug": "initech", "name": "Initech"}
    )
    edit_url = reverse("manage:organization_edit", args=["initech"])
    assert response.status_code == 302 and response.url == edit_url
    org = Organization.objects.get(slug="initech")
    assert org.name == "Initech" and org.is_active

    response = as_supervisor.post(
        reverse("manage:domain_add", args=["initech"]), {"domain": "@Initech.example"}
    )
    assert response.status_code == 302
    assert list(org.domains.values_list("domain", flat=True)) == ["initech.example"]
    page = as_supervisor.get(edit_url).content.decode()
    assert "initech.example" in page and "The domain was added." in page


def test_organization_list_shows_members_and_domains(as_supervisor, desk):
    OrganizationDomain.objects.create(organization=desk.acme, domain="acme.example")
    response = as_supervisor.get(reverse("manage:organizations"))
    page = response.content.decode()
    assert "Acme" in page and "Globex" in page and "acme.example" in page
    counts = {o.slug: o.member_count for o in response.context["organizations"]}
    assert counts == {"acme": 3, "globex": 1}


def test_edit_renames_and_deactivates(as_supervisor, desk):
    url = reverse("manage:organization_edit", args=["acme"])
    response = as_supervisor.post(url, {"name": "Acme Corp"})  # the checkbox left unticked
    assert response.status_code == 302
    desk.acme.refresh_from_db()
    assert desk.acme.name == "Acme Corp" and not desk.acme.is_active


def test_remove_a_domain(as_supervisor, desk):
    OrganizationDomain.objects.create(organization=desk.acme, domain="acme.example")
    url = reverse("manage:domain_remove", args=["acme"])
    assert as_supervisor.post(url, {"domain": "acme.example"}).status_code == 302
    assert not OrganizationDomain.objects.exists()
    response = as_supervisor.post(url, {"domain": "acme.example"}, follow=True)
    assert "is not a domain of Acme" in response.content.decode()


def test_duplicate_and_bad_slugs_are_shown_and_input_kept(as_supervisor):
    url = reverse("manage:organization_create")
    response = as_supervisor.post(url, {"slug": "acme", "name": "Another Acme"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "An organization &#x27;acme&#x27; already exists." in page
    assert 'value="Another Acme"' in page
    response = as_supervisor.post(url, {"slug": "bad slug!", "name": "Bad"})
    assert "Use only letters, numbers, hyphens and underscores." in response.content.decode()
    response = as_supervisor.post(url, {"slug": "", "name": ""})
    assert response.content.decode().count("This field is required.") == 2
    assert Organization.objects.count() == 2


def test_bad_and_taken_domains_are_shown(as_supervisor, desk):
    OrganizationDomain.objects.create(organization=desk.globex, domain="globex.example")
    url = reverse("manage:domain_add", args=["acme"])
    page = as_supervisor.post(url, {"domain": "not a domain"}).content.decode()
    assert "is not a domain name" in page and 'value="not a domain"' in page
    page = as_supervisor.post(url, {"domain": "globex.example"}).content.decode()
    assert "belongs to Globex" in page
    assert not desk.acme.domains.exists()


def test_blank_name_is_refused(as_supervisor, desk):
    url = reverse("manage:organization_edit", args=["acme"])
    response = as_supervisor.post(url, {"name": "  ", "is_active": "on"})
    assert response.status_code == 200
    assert "error-summary" in response.content.decode()
    desk.acme.refresh_from_db()
    assert desk.acme.name == "Acme"
