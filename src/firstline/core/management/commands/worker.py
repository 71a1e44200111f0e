import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from firstline.core import scheduler


class Command(BaseCommand):
    help = (
        "Run background tasks from every queue (from the database, or from Redis when "
        "TASKS_BACKEND=rq), and enqueue periodic jobs when they are due."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Only run tasks; enqueue no periodic jobs."
        )

    def handle(self, *args, no_scheduler, **options):
        stop = threading.Event()
        if not no_scheduler:
            ticker = threading.Thread(
                target=scheduler.run_forever, args=(stop,), name="scheduler", daemon=True
            )
            ticker.start()
        try:
            if settings.TASKS_BACKEND == "rq":
                call_command(
                    "rqworker",
                    *settings.RQ_QUEUES,
                    job_class="django_tasks_rq.Job",
                    worker_class="firstline.core.taskqueue.Worker",
                    with_scheduler=True,  # runs tasks deferred with run_after when due
                    verbosity=options["verbosity"],
                )
            else:
                call_command("db_worker", queue_name="*", reload=False)
        finally:
            stop.set()
