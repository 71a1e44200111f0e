import pytest
from django.urls import reverse

from firstline.core.errors import Conflict, InvalidInput, NotAllowed
from firstline.tickets import services
from firstline.tickets.models import Category


@pytest.fixture
def tree(desk):
    hardware = services.create_category(actor=None, name="Hardware")
    printer = services.create_category(actor=None, name="Printer", parent=hardware)
    toner = services.create_category(actor=None, name="Toner", parent=printer)
    software = services.create_category(actor=None, name="Software")
    return hardware, printer, toner, software


def _names():
    return list(Category.objects.order_by("full_name").values_list("full_name", flat=True))


def test_supervisor_builds_a_category_tree(as_supervisor):
    url = reverse("manage:category_create")
    assert as_supervisor.post(url, {"name": "Hardware"}).status_code == 302
    hardware = Category.objects.get(name="Hardware")
    assert as_supervisor.post(url, {"name": "Printer", "parent": hardware.pk}).status_code == 302
    printer = Category.objects.get(name="Printer")
    as_supervisor.post(url, {"name": "Toner", "parent": printer.pk})
    page = as_supervisor.get(reverse("manage:categories")).content.decode()
    assert "Hardware &gt; Printer &gt; Toner" in page
    assert _names() == ["Hardware", "Hardware > Printer", "Hardware > Printer > Toner"]


def test_bad_category_names_are_shown(as_supervisor, tree):
    hardware = tree[0]
    url = reverse("manage:category_create")
    page = as_supervisor.post(url, {"name": "printer", "parent": hardware.pk}).content.decode()
    assert "already exists there" in page and 'value="printer"' in page
    page = as_supervisor.post(url, {"name": "A > B"}).content.decode()
    assert "cannot contain" in page
    page = as_supervisor.post(url, {"name": "  "}).content.decode()
    assert "This field is required." in page


def test_renaming_a_parent_renames_its_descendants(as_supervisor, tree):
    hardware = tree[0]
    url = reverse("manage:category_edit", args=[hardware.pk])
    assert as_supervisor.post(url, {"name": "Devices", "is_active": "on"}).status_code == 302
    assert _names() == ["Devices", "Devices > Printer", "Devices > Printer > Toner", "Software"]


def test_renaming_to_a_sibling_name_is_refused(as_supervisor, tree):
    url = reverse("manage:category_edit", args=[tree[3].pk])
    response = as_supervisor.post(url, {"name": "HARDWARE", "is_active": "on"})
    assert "already exists there" in response.content.decode()
    assert "Software" in _names()


def test_deactivating_deactivates_descendants(as_supervisor, tree):
    hardware, printer, toner, _software = tree
    url = reverse("manage:category_edit", args=[hardware.pk])
    assert as_supervisor.post(url, {"name": "Hardware"}).status_code == 302
    inactive = set(Category.objects.filter(is_active=False))
    assert inactive == {hardware, printer, toner}
    response = as_supervisor.post(
        reverse("manage:category_edit", args=[printer.pk]), {"name": "Printer", "is_active": "on"}
    )
    assert "Its parent category &#x27;Hardware&#x27; is inactive." in response.content.decode()


def test_update_category_service(tree):
    hardware, printer, toner, _ = tree
    services.update_category(actor=None, category=printer, name="Printers", is_active=True)
    toner.refresh_from_db()
    assert toner.full_name == "Hardware > Printers > Toner"
    with pytest.raises(InvalidInput):
        services.update_category(actor=None, category=printer, name="", is_active=True)
    with pytest.raises(InvalidInput):
        services.update_category(actor=None, category=printer, name="x" * 300, is_active=True)
    services.create_category(actor=None, name="Scanner", parent=hardware)
    with pytest.raises(Conflict):
        services.update_category(actor=None, category=printer, name="scanner", is_active=True)


def test_only_managers_change_categories(desk, tree):
    with pytest.raises(NotAllowed):
        services.update_category(
            actor=desk.l1_agent, category=tree[0], name="Devices", is_active=True
        )
    services.update_category(
        actor=desk.supervisor, category=tree[0], name="Devices", is_active=True
    )
    assert _names()[0] == "Devices"


def test_full_names_may_not_grow_too_long(tree):
    hardware, printer, toner, _ = tree
    services.update_category(actor=None, category=printer, name="p" * 100, is_active=True)
    toner.refresh_from_db()
    services.update_category(actor=None, category=toner, name="t" * 100, is_active=True)
    deep = toner
    for digit in "12":
        deep = services.create_category(actor=None, name=digit * 99, parent=deep)
    assert len(deep.full_name) == len("Hardware") + 3 * 4 + 100 + 100 + 99 + 99
    with pytest.raises(InvalidInput):
        services.update_category(actor=None, category=hardware, name="H" * 100, is_active=True)
    deep.refresh_from_db()
    assert deep.full_name.startswith("Hardware > ")
