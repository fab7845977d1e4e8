"""The dashboard's WSGI application for test_health_attack_kill.py, with a way to SIGKILL the worker at a chosen
moment of a chosen request (the header X-Test-Die):

- "before": the worker dies before Django sees the request (nothing stored, the sender sees a broken connection);
- "after": Django handles the request to the end (its events committed) and the worker dies before one byte of
  the answer is sent: the sender cannot know it was stored and retries, as Iterable does.

A gthread worker's other threads die with it, whatever request they were in the middle of.
"""

import os
import signal

from iterable_admin.wsgi import application as django_application


def application(environ, start_response):
    die = environ.get("HTTP_X_TEST_DIE")
    if die == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    if die == "after":
        result = django_application(environ, lambda status, headers, exc_info=None: lambda data: None)
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        os.kill(os.getpid(), signal.SIGKILL)
    return django_application(environ, start_response)
