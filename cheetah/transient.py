"""The errors a Celery task retries: the database or a connection went away for a moment.

Anything else — a bad file, a bug — is final for the task that met it (a failed submission with
a message, a logged error), so retries never hide a real problem.
"""

from django.db import InterfaceError, OperationalError

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)
