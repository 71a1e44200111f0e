"""Background tasks through Redis (`TASKS_BACKEND=rq`): the backend and the worker class.

With the database backend, a task enqueued inside a transaction exists exactly when the
transaction commits. A Redis queue is outside the transaction, so this backend keeps that
promise by pushing the job when the transaction commits (and never, if it rolls back):
a worker can then never pick up a task before the rows it needs are visible.
"""

from django.db import close_old_connections, connection, transaction
from django_tasks.base import TASK_MAX_PRIORITY, TaskResult, TaskResultStatus
from django_tasks.signals import task_enqueued
from django_tasks.utils import get_random_id
from django_tasks_rq import RQBackend as BaseRQBackend
from django_tasks_rq.backend import Job, failed_callback, success_callback
from rq import SimpleWorker
from rq.job import Callback, JobStatus


class RQBackend(BaseRQBackend):
    def enqueue(self, task, args, kwargs):
        if not connection.in_atomic_block:
            return super().enqueue(task, args, kwargs)
        self.validate_task(task)
        result = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        transaction.on_commit(lambda: self._push(result))
        return result

    def _push(self, result: TaskResult) -> None:
        """What the library's enqueue does, under the id handed out before the commit."""
        import django_rq

        task, args, kwargs = result.task, result.args, result.kwargs
        queue = django_rq.get_queue(task.queue_name, job_class=Job)
        job = queue.create_job(
            task.module_path,
            args=args,
            kwargs=kwargs,
            job_id=result.id,
            status=JobStatus.SCHEDULED if task.run_after else JobStatus.QUEUED,
            on_failure=Callback(failed_callback),
            on_success=Callback(success_callback),
            meta={"backend_name": self.alias},
        )
        if task.run_after is None:
            queue.enqueue_job(job, at_front=task.priority == TASK_MAX_PRIORITY)
        else:
            queue.schedule_job(job, task.run_after)
        task_enqueued.send(type(self), task_result=result)


class Worker(SimpleWorker):
    """Runs each job in this process (no fork per job: tasks are short and mostly SQL), and
    drops database connections that broke or aged between jobs, as a request would."""

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
