"""Error pages inside the normal frame: 400, 403 (naming the role that may open the page), 404, 500, CSRF failure.

The 500 page renders without the request, the database or the user: whatever broke may be one of them.
"""

import logging

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseForbidden, HttpResponseNotFound, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from catalog import roles

logger = logging.getLogger(__name__)


def _needed_permissions(request) -> tuple[str, ...]:
    """The permissions the refused page asks for, read from its view.

    A page may work its permissions out inside dispatch (from the URL's entity, say), so the view is set up and
    dispatched again with its permission check answering "no" and recording what it asked: dispatch then stops
    where the real request stopped, before the page did anything.
    """
    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    if match is None or view_class is None:
        return ()
    try:
        view = view_class(**getattr(match.func, "view_initkwargs", {}))
        view.setup(request, *match.args, **dict(match.kwargs))
        if isinstance(view, PermissionRequiredMixin):
            asked: list[str] = []

            def has_permission() -> bool:
                asked.extend(view.get_permission_required())
                return False

            # Instance attributes shadow the methods for this one dispatch.
            setattr(view, "has_permission", has_permission)  # noqa: B010
            setattr(view, "handle_no_permission", HttpResponseForbidden)  # noqa: B010
            view.dispatch(request, *match.args, **dict(match.kwargs))
            needed: str | list[str] | tuple[str, ...] = asked
        else:
            needed = getattr(view, "required_permission", None) or ()
    except Exception:  # a page's own code failing here must not turn the 403 into a 500
        logger.debug("could not read the permissions of %s", request.path, exc_info=True)
        return ()
    return (needed,) if isinstance(needed, str) else tuple(needed)


def refusal(request, exception: BaseException | None = None) -> dict:
    """What the 403 page says: the role that may open the page (when known), the person's own role, and the
    reason the code gave."""
    user = getattr(request, "user", None)
    needed = _needed_permissions(request)
    missing = [p for p in needed if user is None or not user.has_perm(p)]
    role = roles.role_for_permissions(missing) if missing else None
    own = None
    if user is not None and user.is_authenticated:
        names = set(user.groups.values_list("name", flat=True))
        own = next((r for r in reversed(roles.ROLES) if r in names), None)
    reason = str(exception) if isinstance(exception, PermissionDenied) and exception.args else ""
    return {
        "needed_role": role,
        "needed_description": roles.ROLE_DESCRIPTIONS.get(role or "", ""),
        "own_role": own,
        "reason": reason,
    }


@requires_csrf_token
def permission_denied(request, exception=None):
    body = loader.render_to_string("errors/403.html", refusal(request, exception), request)
    return HttpResponseForbidden(body)


@requires_csrf_token
def page_not_found(request, exception=None):
    return HttpResponseNotFound(loader.render_to_string("errors/404.html", {"path": request.path}, request))


@requires_csrf_token
def bad_request(request, exception=None):
    return HttpResponseBadRequest(loader.render_to_string("errors/400.html", {}, request))


def server_error(request):
    # No request in the context: no context processor runs, so neither the session, the user nor the database
    # is touched.
    return HttpResponseServerError(loader.render_to_string("errors/500.html", {}))
