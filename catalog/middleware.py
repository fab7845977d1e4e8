"""A guard refusal from the database that no form or service caught (the Django admin, a door added
later) still reaches people as the guard's sentence with 409 Conflict, never as a 500."""

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
