"""The Celery application: configuration comes from Django settings prefixed ``CELERY_``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")

app = Celery("cheetah")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The web side keeps its tasks in its worker package (competitions.worker.tasks).
app.autodiscover_tasks(["competitions.worker"])
