"""Forget the cached option lists of the queue page when what they list changes."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from firstline.accounts.models import Group, Organization, User
from firstline.tickets.models import Category

from . import selectors


@receiver([post_save, post_delete], sender=User)
@receiver([post_save, post_delete], sender=Organization)
@receiver([post_save, post_delete], sender=Group)
@receiver([post_save, post_delete], sender=Category)
def forget_choices(sender, **kwargs):
    # Now, and again when the change commits: a page read in between may have kept the old.
    selectors.forget_reference_choices()
    transaction.on_commit(selectors.forget_reference_choices)
