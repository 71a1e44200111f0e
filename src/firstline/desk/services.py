"""Writes of the agent workspace's own data (saved filters)."""

from django.db import transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core.errors import Conflict, InvalidInput

from .models import SavedFilter


@transaction.atomic
def save_filter(*, user: User, name: str, queue: str, query: str) -> SavedFilter:
    name = name.strip()
    if not name:
        raise InvalidInput.for_field("name", _("Give the filter a name."))
    if len(name) > 80 or len(query) > 1000:
        raise InvalidInput.for_field("name", _("The name or the filter is too long."))
    if SavedFilter.objects.filter(user=user, name__iexact=name).exists():
        raise Conflict.for_field("name", _("You already have a filter with this name."))
    return SavedFilter.objects.create(user=user, name=name, queue=queue, query=query)


@transaction.atomic
def delete_filter(*, user: User, saved_filter_id: int) -> None:
    SavedFilter.objects.filter(user=user, pk=saved_filter_id).delete()
