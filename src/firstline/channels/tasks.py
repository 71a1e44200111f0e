from django_tasks import task

from . import inbound, outbound


@task()
def process_inbound_messages() -> int:
    """Processes the waiting inbound messages, a batch at a time (see inbound.process_waiting)."""
    return inbound.process_waiting()


@task()
def process_inbound_message(message_id: int) -> str:
    """One message (a reprocessed one; also tasks queued before batches existed)."""
    return inbound.process(message_id).status


@task()
def send_outbox() -> int:
    return outbound.send_due()


@task()
def poll_due_mailboxes() -> list[int]:
    from . import imap

    return imap.poll_due()


@task()
def requeue_stale_inbound() -> int:
    return inbound.requeue_stale()
