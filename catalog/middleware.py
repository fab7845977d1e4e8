"""A guard refusal from the database that no form or service caught (the Django admin, a door added
later) still reaches people as the guard's sentence with 409 Conflict, never as a 500. And the sessions'
idle timeout without a database write on every request."""

import time

from django.db import IntegrityError, OperationalError
from django.http import JsonResponse
from django.template.response import TemplateResponse

from catalog.guard.enforcement import guard_error_from_db


class GuardRefusalMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, IntegrityError | OperationalError):
            return None
        refusal = guard_error_from_db(exception)
        if refusal is None:
            return None
        if request.path.startswith("/api/"):
            errors = [{"field": None, "code": refusal.code, "message": message} for message in refusal.messages]
            return JsonResponse({"errors": errors}, status=409)
        response = TemplateResponse(
            request, "catalog/refused.html", {"messages_refused": refusal.messages, "back": request.path}, status=409
        )
        return response.render()


# How often a busy session's expiry is pushed back. Writing it on every request cost three of a page's
# queries (and a row lock); once a minute means an idle session ends between SESSION_COOKIE_AGE minus this
# and SESSION_COOKIE_AGE after the last request: never later than the idle timeout.
SESSION_TOUCH_SECONDS = 60
SESSION_TOUCHED_KEY = "_touched_at"


class SessionIdleMiddleware:
    """The idle timeout (SESSION_COOKIE_AGE): a session in use is saved, which pushes its expiry back, at most
    once every SESSION_TOUCH_SECONDS. Goes after SessionMiddleware, so its save happens on the way out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return response
        touched = session.get(SESSION_TOUCHED_KEY)
        # Reading loads the session: a session that expired or was deleted has no key any more.
        if session.session_key is None or session.is_empty():
            return response
        now = int(time.time())
        if session.modified or not isinstance(touched, int) or not 0 <= now - touched < SESSION_TOUCH_SECONDS:
            session[SESSION_TOUCHED_KEY] = now
        return response


class IterableBudgetMiddleware:
    """Every Iterable call made while answering a request shares ITERABLE_REQUEST_BUDGET_SECONDS (the client
    caps each attempt, pacing wait and retry pause to what is left), so a slow Iterable gives the page a
    sentence to show instead of holding the worker until gunicorn kills it. Workers and tasks have no budget."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        from catalog.iterable.client import call_deadline

        with call_deadline(settings.ITERABLE_REQUEST_BUDGET_SECONDS):
            return self.get_response(request)
