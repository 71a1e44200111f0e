"""Reads for the administration pages that belong to no single app."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.selectors import management_counts
from firstline.core.errors import NotFound
from firstline.tickets.models import Category


def category_tree(actor: User) -> QuerySet[Category]:
    """All categories, active or not, in tree order (a parent comes before its children)."""
    categories = Category.objects.order_by("full_name")
    return categories if actor.sees_all_tickets else categories.none()


def get_managed_category(actor: User, category_id: int) -> Category:
    category = category_tree(actor).select_related("parent").filter(pk=category_id).first()
    if category is None:
        raise NotFound.for_field("category", _("No category %(id)s.") % {"id": category_id})
    return category


def overview(actor: User) -> dict[str, int]:
    return {**management_counts(actor), "categories": category_tree(actor).count()}
