import pytest

from firstline.core.errors import InvalidInput
from firstline.tickets import lifecycle
from firstline.tickets.models import Status

ALL = list(Status.values)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("new", "open"),
        ("open", "pending"),
        ("open", "on_hold"),
        ("pending", "open"),
        ("on_hold", "resolved"),
        ("resolved", "closed"),
        ("resolved", "open"),
    ],
)
def test_allowed_transitions_pass(current, target):
    lifecycle.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [("new", "closed"), ("open", "closed"), ("closed", "open"), ("closed", "resolved")],
)
def test_forbidden_transitions_are_refused_with_the_allowed_ones_named(current, target):
    with pytest.raises(InvalidInput) as exc:
        lifecycle.check_transition(current, target)
    assert "status" in exc.value.errors
    assert current in exc.value.message and target in exc.value.message


def test_closed_is_final():
    for target in ALL:
        with pytest.raises(InvalidInput):
            lifecycle.check_transition("closed", target)


def test_unknown_status_is_refused():
    with pytest.raises(InvalidInput, match="Unknown status"):
        lifecycle.check_transition("open", "done")


@pytest.mark.parametrize("current", ["new", "open", "pending", "on_hold"])
def test_requester_may_only_mark_solved_while_active(current):
    lifecycle.check_transition(current, "resolved", by_requester=True)
    for target in set(ALL) - {"resolved", current}:
        with pytest.raises(InvalidInput):
            lifecycle.check_transition(current, target, by_requester=True)


def test_requester_may_reopen_a_resolved_ticket_but_not_close_it():
    lifecycle.check_transition("resolved", "open", by_requester=True)
    with pytest.raises(InvalidInput):
        lifecycle.check_transition("resolved", "closed", by_requester=True)


@pytest.mark.parametrize(
    ("current", "after"),
    [("pending", "open"), ("resolved", "open"), ("new", "new"), ("on_hold", "on_hold")],
)
def test_requester_reply_ends_waiting_and_reopens(current, after):
    assert lifecycle.status_after_requester_reply(current) == after


def test_every_status_has_a_transition_entry():
    assert set(lifecycle.TRANSITIONS) == set(ALL) == set(lifecycle.REQUESTER_TRANSITIONS)
