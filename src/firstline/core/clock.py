"""The one clock that services read.

Services take the time from here instead of `timezone.now()` so that the demo loader and
importers can record a ticket's history at the moment it really happened.
"""

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone

_local = threading.local()


def now() -> datetime:
    fixed = getattr(_local, "fixed", None)
    return fixed if fixed is not None else timezone.now()


@contextlib.contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    if timezone.is_naive(moment):
        raise ValueError("frozen_at needs a time-zone aware datetime")
    previous = getattr(_local, "fixed", None)
    _local.fixed = moment
    try:
        yield
    finally:
        _local.fixed = previous
