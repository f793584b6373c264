"""Cheetah's Django project package (settings, URLs, Celery app).

Named ``cheetah`` and not ``platform``: a top-level package called ``platform`` would shadow
Python's standard-library module of that name, and Celery (through kombu/billiard) imports
``platform`` at start-up, so ``from celery import Celery`` would fail.
"""

from cheetah.celery import app as celery_app

__all__ = ["celery_app"]
