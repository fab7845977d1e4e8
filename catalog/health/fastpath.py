"""The webhook door's short way through the middleware stack.

Iterable posts one event per request, hundreds a second, authenticated by the project's secret, never by a
session. None of the middleware after this one has work to do for such a request (no session or user to load,
no CSRF token, no flash messages, no static file, no page to frame or give a content policy, no login to lock
out), yet together with URL resolution they cost more CPU than storing the event. So the webhook's requests
go from here straight to its view, and every other request passes on untouched.

It sits after the request id (logged and returned), the database-outage answer and SecurityMiddleware (HTTPS
redirect, HSTS, nosniff, referrer policy), which still apply to the webhook.
"""

import re

from django.db import InterfaceError, OperationalError

from catalog.observability import DatabaseUnavailableMiddleware

# The same path as catalog/health/urls.py's "health-webhook" (tests/health check that they agree).
WEBHOOK_PATH = re.compile(r"/api/health/webhooks/(?P<project_id>[0-9]{1,18})/\Z")


class WebhookFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # The view raises past the handler's process_exception hooks from here, so the outage answer is asked
        # for directly: a database gone mid-request is a 503 with Retry-After for Iterable too.
        self.outage = DatabaseUnavailableMiddleware(get_response)

    def __call__(self, request):
        match = WEBHOOK_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        from catalog.health.views import webhook_receive

        request.get_host()  # ALLOWED_HOSTS holds here too (CommonMiddleware would check it): 400 otherwise
        try:
            return webhook_receive(request, int(match["project_id"]))
        except (OperationalError, InterfaceError) as error:
            return self.outage.process_exception(request, error)
