"""Every route of the project with sample values, for the suites that try them all (roles, trust sweep)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

from catalog.core.views import ENTITIES

# Pages for people under /api/, with session login.
HTML_UNDER_API = {"api:tokens", "api:token-revoke", "api:token-rotate", "api:docs", "api:health-alert-acknowledge-form"}
KEY = "student_activity_weekly_digest"


def routes():
    """(path, name) for every URL pattern outside the Django admin, with sample values for its parameters."""

    def walk(resolver, prefix="", namespace=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                ns = ":".join(filter(None, [namespace, pattern.namespace or ""])) if pattern.namespace else namespace
                yield from walk(pattern, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), ":".join(filter(None, [namespace, pattern.name or ""]))

    found = []
    for route, name in walk(get_resolver()):
        if route.startswith("admin/"):
            continue
        route = route.replace("^", "").replace("$", "")
        route = re.sub(r"\(\?P<key>[^)]*\)|<slug:key>", KEY, route)
        route = re.sub(r"\(\?P<\w+>[^)]*\)|<int:\w+>|<str:\w+>", "1", route)
        route = route.replace("[\\s\\S]*", "no-such-thing/")
        route = route.replace("<uidb64>/<token>", "MQ/set-password")
        if "<entity:entity>" in route:
            found += [("/" + route.replace("<entity:entity>", e.slug), name) for e in ENTITIES.values()]
        else:
            found.append(("/" + route, name))
    return found
