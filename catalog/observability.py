"""A request id that follows the work: set per request (or taken from a trusted proxy's X-Request-ID),
added to every log line, returned in the response, and carried into django-q2 tasks enqueued meanwhile."""

import contextvars
import logging
import re
import uuid

from django.conf import settings

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdMiddleware:
    """Gives every request an id; a proxy's id is trusted only when it looks like an id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "") if settings.TRUST_REQUEST_ID_HEADER else ""
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        # Not reset here: Django logs 4xx/5xx (django.request) after the middleware returns. It is cleared
        # when the request finishes (see clear_request_id).
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def clear_request_id(**kwargs) -> None:
    request_id_var.set("-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def run_with_request_id(request_id: str, func_path: str, *args, **kwargs):
    """django-q2 entry point that restores the enqueuing request's id around the real task."""
    from django.utils.module_loading import import_string

    from catalog.iterable.client import call_deadline

    token = request_id_var.set(request_id)
    try:
        with call_deadline(None):  # a task run inline (Q_SYNC) is not held to its request's Iterable budget
            return import_string(func_path)(*args, **kwargs)
    finally:
        request_id_var.reset(token)


def enqueue(func_path: str, *args, **options):
    """async_task with the current request id carried along; `options` are django-q2's (q_options)."""
    from django_q.tasks import async_task

    return async_task("catalog.observability.run_with_request_id", current_request_id(), func_path, *args, **options)


def enqueue_supervised(model, pk: int, func_path: str, *, name: str, group: str, timeout: int) -> None:
    """Queue the task of a supervised record (a run, an import) once the transaction commits. Only its id travels:
    task arguments are pickled into the database and shown in the admin. ``enqueued_at`` is stamped now, so the
    supervisor can tell a task still waiting in the queue from one that was lost."""
    from django.db import transaction
    from django.utils import timezone

    model.objects.filter(pk=pk).update(enqueued_at=timezone.now())
    options = {"timeout": timeout, "ack_failure": True, "group": group, "task_name": name}
    transaction.on_commit(lambda: enqueue(func_path, pk, q_options=options))


class DatabaseUnavailableMiddleware:
    """The database gone mid-request is an outage, not a bug: answer 503 with Retry-After and a sentence
    (JSON in the API's error format), log it once, and let the transaction roll back so nothing half-writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError
        from django.http import HttpResponse, JsonResponse

        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logging.getLogger("catalog.database").error("Database unavailable: %s", type(exception).__name__)
        message = "The database is not answering right now. Nothing was saved; try again in a minute."
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"errors": [{"field": None, "code": "database-unavailable", "message": message}]}, status=503
            )
        else:
            response = HttpResponse(
                f"<!doctype html><title>Unavailable</title><h1>Temporarily unavailable</h1><p>{message}</p>",
                status=503,
            )
        response["Retry-After"] = "30"
        return response
