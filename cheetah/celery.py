"""The Celery application: configuration comes from Django settings prefixed ``CELERY_``.

Two queues, so that a submission never waits behind analytics: the default queue
(``CELERY_QUEUE``, "cheetah") carries scoring, the release decision and the leaderboard
snapshot; ``<default>.field`` carries everything else — the snapshots' rank intervals and
paired tests, the field's similarity and ensembles, the challenge report, announcements, e-mail,
retention purges. Each has its own workers (``make demo``, docker-compose, the load test). The
field queue's name follows the default queue's at send time, so tests that give themselves a
private queue get a private field queue with it.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")

FIELD_QUEUE_SUFFIX = ".field"
# By name: the tasks that may wait for a scoring to finish.
FIELD_TASKS = frozenset({
    "competitions.tasks.compute_phase_similarity",
    "competitions.tasks.analyse_leaderboard_snapshots",
    "competitions.tasks.build_phase_report",
    "competitions.tasks.announce_phase_changes",
    "competitions.tasks.purge_stale_bundles",
    "notifications.tasks.send_notice_emails",
    "surveys.tasks.announce_post_surveys",
    "surveys.tasks.purge_answers_past_retention",
})

app = Celery("cheetah")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The web side keeps its tasks in its worker package (competitions.worker.tasks).
app.autodiscover_tasks(["competitions.worker"])
# The challenge report reads what the pages read (selectors), which the worker package may not
# import: its task sits beside the report (competitions.report.tasks), on the field queue.
app.autodiscover_tasks(["competitions.report"])


def field_queue(default: str | None = None) -> str:
    """The field queue that goes with ``default`` (the app's default queue if not given)."""
    return (default or app.conf.task_default_queue) + FIELD_QUEUE_SUFFIX


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: field tasks to the field queue, the rest to the default (scoring) one."""
    if name in FIELD_TASKS:
        return {"queue": field_queue()}
    return None


app.conf.task_routes = (route_task,)
