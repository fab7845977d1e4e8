"""Presentation helpers for the catalog pages: Iterable deep links, query strings, plain-words labels.

No rules live here: what is allowed is decided by catalog/guard/policy.py; these only describe and link.
"""

from html import escape as _escape

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from catalog.core import extensions
from catalog.guard import policy
from catalog.sync import words
from catalog.templatetags import frame

register = template.Library()

# What each subscription policy means to the person receiving the message, in a marketer's words.
POLICY_MEANING = {
    policy.OPT_IN: (
        "Opt-in: only people who explicitly subscribed to this message type receive it. "
        "Anyone who never opted in, or who unsubscribed, is skipped."
    ),
    policy.OPT_OUT: (
        "Opt-out: everyone receives it unless they unsubscribed from this message type, "
        "including people who never opted in."
    ),
}


# A rule's or a finding's code in words ("no-owner" → "No owner"), never the code itself on a page; the words
# are the sync slice's (one source for every page that names a code).
register.filter("code_words", words.code_words)


@register.filter
def policy_meaning(value: str | None) -> str:
    return POLICY_MEANING[policy.effective_policy(value)]


@register.simple_tag
def iterable_template_url(project, template_id) -> str:
    return f"{project.app_url}/templates/editor?templateId={template_id}"


@register.simple_tag
def iterable_campaign_url(project, campaign_id) -> str:
    return f"{project.app_url}/campaigns/{campaign_id}"


@register.simple_tag
def iterable_journey_url(project, journey_id) -> str:
    return f"{project.app_url}/workflows/{journey_id}/edit"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one); "page" is reset."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def page_query(context, number) -> str:
    params = context["request"].GET.copy()
    params["page"] = number
    return f"?{params.urlencode()}"


@register.simple_tag
def cell(obj, accessor: str):
    """A column value: a dotted attribute path, calling methods such as get_FOO_display."""
    value = obj
    for part in accessor.split("."):
        value = getattr(value, part, None)
        if callable(value):
            value = value()
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else value


@register.simple_tag
def object_url(obj) -> str:
    """The catalog page of any catalog object."""
    name = obj._meta.model_name
    if name == "notification":
        return reverse("catalog:notification_detail", kwargs={"key": obj.key})
    return reverse("catalog:entity_detail", kwargs={"entity": name, "pk": obj.pk})


@register.simple_tag
def field_rows(obj):
    """(label, value) for each editable concrete field, with choice labels and related objects."""
    rows = []
    for model_field in obj._meta.concrete_fields:
        if model_field.primary_key or not model_field.editable:
            continue
        if model_field.choices:
            value = getattr(obj, f"get_{model_field.name}_display")()
        else:
            value = getattr(obj, model_field.name)
        rows.append((str(model_field.verbose_name).capitalize(), value))
    return rows


@register.filter
def jsonish(value) -> str:
    """Lists as comma-separated text, the rest as is; for tags and trigger event names."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@register.filter
def change_rows(changes) -> list[tuple[str, dict]]:
    """An audit event's changes as (name, change) pairs. A template's ``changes.items`` would look up a change
    named "items" before the dict method, and not every action records a before/after pair."""
    if not isinstance(changes, dict):
        return []
    rows = []
    for name, change in changes.items():
        if isinstance(change, dict) and set(change) == {"before", "after"}:
            rows.append((name, {"pair": True, "before": change["before"], "after": change["after"]}))
        else:
            rows.append((name, {"pair": False, "value": change}))
    return rows


NAV = [
    ("messagetype", "Message types"),
    ("channel", "Channels"),
    ("journey", "Journeys"),
    ("customevent", "Custom events"),
    ("owner", "Owners"),
    ("template", "Templates"),
    ("iterableproject", "Projects"),
]


@register.simple_tag(takes_context=True)
def nav_items(context):
    """The entity pages this user may view, for the navigation bar."""
    user = context["request"].user
    return [
        (reverse("catalog:entity_list", kwargs={"entity": name}), label)
        for name, label in NAV
        if user.has_perm(f"catalog.view_{name}")
    ]


@register.simple_tag(takes_context=True)
def add_perm(context, entity) -> bool:
    return context["request"].user.has_perm(f"catalog.add_{entity.name}")


@register.simple_tag(takes_context=True)
def change_perm(context, entity) -> bool:
    return context["request"].user.has_perm(f"catalog.change_{entity.name}")


@register.simple_tag(takes_context=True)
def delete_perm(context, entity) -> bool:
    return context["request"].user.has_perm(f"catalog.delete_{entity.name}")


# The main navigation's links for each set of permissions, and its HTML for each of those and current link,
# kept by the process: a role's links change only with its permissions (or the URLs), and reading them (twenty
# URLs reversed, twenty permission checks) cost a tenth of a list page. Bounded: cleared when full.
_NAV_GROUPS: dict[tuple, list[frame.NavGroup]] = {}
_NAV_HTML: dict[tuple, str] = {}
_NAV_KEPT = 256


@register.simple_tag(takes_context=True)
def site_nav_groups(context):
    """The main navigation's groups of links (frame.nav_groups: the links this user's role may open, the page's
    own marked current), written once per process for each set of permissions and current link."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    perms = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), user.is_active, user.is_superuser,
             frozenset(user.get_all_permissions()))  # fmt: skip
    groups = _NAV_GROUPS.get(perms)
    if groups is None:
        groups = [
            frame.NavGroup(g.label, [frame.NavLink(link.url, link.label) for link in g.links])
            for g in frame.nav_groups(context)
        ]
        if len(_NAV_GROUPS) >= _NAV_KEPT:
            _NAV_GROUPS.clear()
        _NAV_GROUPS[perms] = groups
    current = frame._current_url(request, [link.url for g in groups for link in g.links])
    html = _NAV_HTML.get((perms, current))
    if html is None:
        marked = [
            frame.NavGroup(g.label, [frame.NavLink(link.url, link.label, link.url == current) for link in g.links])
            for g in groups
        ]
        html = render_to_string("catalog/_site_nav_groups.html", {"groups": marked})
        if len(_NAV_HTML) >= _NAV_KEPT:
            _NAV_HTML.clear()
        _NAV_HTML[(perms, current)] = html
    return mark_safe(html)  # noqa: S308  (the template escapes)


def _page_checks(context) -> dict:
    """The projects' last syncs, read once per page render (and kept a little while: catalog.core.selectors)."""
    from catalog.core.selectors import project_checks

    checks = context.render_context.get("_iterable_checks")
    if checks is None:
        checks = context.render_context["_iterable_checks"] = project_checks()
    return checks


def _verdict_badges(notification, check) -> str:
    from catalog.guard.verdicts import verdict_summary

    badges = []
    errors, warnings = notification.verdict_errors, notification.verdict_warnings
    if errors:
        badges.append(("error", f"{errors} error{'s' if errors != 1 else ''}", ""))
    if warnings:
        badges.append(("warning", f"{warnings} warning{'s' if warnings != 1 else ''}", ""))
    if not errors and (check is None or check.stale):
        badges.append(("not-checked", "not checked", verdict_summary(notification, check).label))
    if not badges:
        badges.append(("ok", "ok", "No rule broken; Iterable checked by the last sync"))
    return " ".join(
        f'<span class="badge {kind}" title="{escape(title or text)}">{escape(text)}</span>'
        for kind, text, title in badges
    )


@register.simple_tag(takes_context=True)
def verdict_badge(context, notification):
    """The one verdict as badges: errors and warnings (catalog and Iterable), or "not checked since …" when
    Iterable has not been synced lately, or ok. The projects' last syncs are read once per page."""
    return mark_safe(_verdict_badges(notification, _page_checks(context).get(notification.project_id)))  # noqa: S308


NO_OWNER = '<span class="muted">none</span>'
# The notification list's columns: label and sort key (None: not sortable). notification_list_rows writes the
# cells in this order.
# The name is what people know a notification by, so it leads and links; the key follows for scripts and engineers.
LIST_COLUMNS = [
    ("Name", "name"),
    ("Key", "key"),
    ("Status", "status"),
    ("Project", "project"),
    ("Audience", "audience"),
    ("Medium", "medium"),
    ("Trigger", "trigger_type"),
    ("Message type", "message_type"),
    ("Owners", None),
    ("Guard", None),
    # Capabilities' columns (catalog/core/extensions.py) come here, before the last.
    ("Updated", "updated"),
]


def _list_columns() -> list[tuple[str, str | None]]:
    plugged = [(c.label, c.sort) for c in extensions.columns()]
    return [*LIST_COLUMNS[:-1], *plugged, LIST_COLUMNS[-1]]


@register.simple_tag(takes_context=True)
def notification_list_header(context):
    """The list's header cells: each sortable column links to the current query sorted by it (again: the other
    way) and says how the list is sorted by it (aria-sort); one copy of the query string for all of them."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    current = params.get("ordering", "")
    cells = []
    for label, field in _list_columns():
        if field is None:
            cells.append(f'<th scope="col">{label}</th>')
            continue
        state = "ascending" if current == field else "descending" if current == f"-{field}" else "none"
        params["ordering"] = f"-{field}" if current == field else field
        cells.append(f'<th scope="col" aria-sort="{state}"><a href="?{_escape(params.urlencode())}">{label}</a></th>')
    return mark_safe("\n    ".join(cells))  # noqa: S308


@register.simple_tag(takes_context=True)
def notification_list_rows(context, notifications):
    """The notification list's table rows (catalog.core.views.ListRow: plain values, no model instances),
    written in Python: the template language's per-cell lookups were most of the page's time. Every value is
    escaped; the cells follow LIST_COLUMNS."""
    from catalog import models

    checks = _page_checks(context)
    before_key, after_key = reverse("catalog:notification_detail", kwargs={"key": "KEY"}).rsplit("KEY", 1)
    status, audience = dict(models.NotificationStatus.choices), dict(models.Audience.choices)
    medium, policies = dict(models.Medium.choices), dict(models.SubscriptionPolicy.choices)
    # Rows share a few projects and message types: each is written once.
    projects: dict[int, str] = {}
    message_types: dict[int, str] = {}
    plugged = extensions.columns()
    rows = []
    for n in notifications:
        if n.trigger_type == "api_send":
            trigger = f"Campaign {n.campaign_id or '—'}"
        else:
            trigger = _escape(f"{n.event_name or '—'} → {n.journey_name or '—'}")
        owners = ", ".join(n.owner_names)
        project = projects.get(n.project_id)
        if project is None:
            project = projects[n.project_id] = _escape(n.project_name)
        message_type = message_types.get(n.message_type_id)
        if message_type is None:
            policy_name = n.message_type_policy
            message_type = message_types[n.message_type_id] = (
                f'{_escape(n.message_type_name)} <span class="muted">'
                f"({_escape(str(policies.get(policy_name, policy_name)))}, {_escape(n.channel_name)})</span>"
            )
        updated = timezone.localtime(n.updated_at)
        rows.append(
            f'<tr>\n<th scope="row"><a href="{before_key}{_escape(n.key)}{after_key}">{_escape(n.name)}</a></th>'
            f'<td><code class="key">{_escape(n.key)}</code></td>'
            f'<td><span class="status {_escape(n.status)}">{_escape(status.get(n.status, n.status))}</span></td>'
            f"<td>{project}</td>"
            f"<td>{_escape(audience.get(n.audience, n.audience))}</td>"
            f"<td>{_escape(medium.get(n.medium, n.medium))}</td>"
            f"<td>{trigger}</td>"
            f"<td>{message_type}</td>"
            f"<td>{_escape(owners) if owners else NO_OWNER}</td>"
            f"<td>{_verdict_badges(n, checks.get(n.project_id))}</td>"
            f"{''.join(column.cell(n) for column in plugged)}"
            f'<td><time datetime="{updated.isoformat()}">{updated:%Y-%m-%d}</time></td>\n</tr>'
        )
    if not rows:
        rows.append(f'<tr><td colspan="{len(LIST_COLUMNS) + len(plugged)}">No notifications match.</td></tr>')
    return mark_safe("\n".join(rows))  # noqa: S308


@register.simple_tag(takes_context=True)
def render_panels(context, shown):
    """Capabilities' panels on a core page (catalog/core/extensions.py): each template rendered with the page's
    context and the panel's own, as an include would."""
    out = []
    for panel, data in shown or []:
        template = context.template.engine.get_template(panel.template)
        with context.push(**data):
            out.append(template.render(context))
    return mark_safe("".join(out))  # noqa: S308  (templates render escaped)
