from contextlib import contextmanager

import pytest
from django.db import connection

from firstline.automation import engine, services
from firstline.automation.models import Trigger

from ..factories import AgentFactory


@pytest.fixture
def automation(django_capture_on_commit_callbacks):
    """Automation runs when a change commits; tests run inside one transaction, so this runs
    what the block's changes scheduled when it ends, as their commit would. Changes made
    before the block (test set-up) started no automation, and still do not."""

    @contextmanager
    def run():
        setattr(connection, engine._BATCH_ATTRIBUTE, None)  # the set-up's batch never commits
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


@pytest.fixture
def make_rule(db):
    def make(name="Rule", trigger=Trigger.UPDATED, conditions=(), actions=(), **kwargs):
        return services.create_rule(
            actor=None,
            name=name,
            trigger=trigger,
            conditions=list(conditions),
            actions=list(actions),
            **kwargs,
        )

    return make


@pytest.fixture
def l1_team(desk):
    """The L1 group with three agents, in the order round-robin goes through them."""
    second, third = AgentFactory(username="l1second"), AgentFactory(username="l1third")
    desk.l1.members.add(second, third)
    return [desk.l1_agent, second, third]
