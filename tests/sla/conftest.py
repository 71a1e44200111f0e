from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from firstline.sla import services
from firstline.sla.models import TicketSla
from firstline.sla.services import TargetMinutes
from firstline.tickets.models import Priority

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = dict.fromkeys(range(5), "09:00-12:00, 13:00-18:00")  # Mon-Fri with a lunch break

# Business minutes per priority: (first response, next response, resolution).
STANDARD = {
    Priority.LOW: TargetMinutes(240, 480, 2400),
    Priority.NORMAL: TargetMinutes(60, 120, 480),
    Priority.HIGH: TargetMinutes(30, 60, 240),
    Priority.URGENT: TargetMinutes(15, 30, 120),
}


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def clock():
    """Frozen time that a test moves by hand: clock.to(moment)."""

    class Clock:
        traveller = None

        def to(self, moment: datetime) -> datetime:
            if self.traveller is not None:
                self.traveller.stop()
            self.traveller = time_machine.travel(moment.astimezone(UTC), tick=False)
            self.traveller.start()
            return moment

    c = Clock()
    c.to(sh(2026, 3, 2, 8, 0))  # a Monday morning in Shanghai, before opening
    yield c
    c.traveller.stop()


@pytest.fixture
def office(db, clock):
    return services.create_calendar(
        actor=None, name="Shanghai office", time_zone="Asia/Shanghai", hours=WEEKDAYS
    )


@pytest.fixture
def standard(office):
    """One policy for every ticket, on the Shanghai office calendar."""
    return services.create_policy(actor=None, name="Standard", calendar=office, targets=STANDARD)


def sla_of(ticket) -> TicketSla:
    return TicketSla.objects.get(ticket_id=ticket.pk)


def has_sla(ticket) -> bool:
    return TicketSla.objects.filter(ticket_id=ticket.pk).exists()
