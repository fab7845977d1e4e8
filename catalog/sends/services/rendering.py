"""What the recipient would see: the template Iterable will render, with the recipient's profile and the send's
data fields merged in, by the one merge-tag renderer the emulator uses too (catalog/iterable/merge_tags.py).

Pure: it takes what the guard's live read brought back from Iterable (the templates, the campaigns' own
templates and the recipient's profile) and makes no call of its own, so the preview shows the very templates
the guard judged.
"""

import copy
from dataclasses import dataclass, field
from typing import Any

from catalog.iterable import User
from catalog.iterable.merge_tags import RenderError, render_report
from catalog.models import ProofMode
from catalog.sends.services.results import ProofPlan

# Bigger HTML than this is not kept for the preview frame (the session would carry it).
MAX_PREVIEW_HTML = 256 * 1024


@dataclass
class RenderedMessage:
    """One message as the recipient would see it, or the sentence saying why it cannot be shown."""

    label: str
    medium: str
    subject: str = ""
    preheader: str = ""
    sender: str = ""
    html: str = ""
    title: str = ""
    body: str = ""
    missing: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def missing_sentences(self) -> list[str]:
        return [f"{name} is empty for this recipient, so that part of the message is blank." for name in self.missing]

    def as_dict(self) -> dict[str, Any]:
        fields = (
            {"subject": self.subject, "preheader": self.preheader, "sender": self.sender, "html": self.html}
            if self.medium == "Email"
            else {"title": self.title, "body": self.body}
        )
        return {
            "template": self.label,
            "medium": self.medium,
            **({} if self.error else fields),
            "missing": self.missing_sentences,
            "error": self.error,
        }


def proof_merge_data(*, plan: ProofPlan, user: User | None) -> dict[str, Any]:
    """What Iterable merges into a template: the profile's fields, its email, then the send's data fields on top."""
    data: dict[str, Any] = copy.deepcopy(user.data_fields) if user is not None else {}
    email = (user.email if user is not None else None) or plan.email
    if email:
        data.setdefault("email", email)
    if user is not None and user.user_id:
        data.setdefault("userId", user.user_id)
    data.update(copy.deepcopy(plan.data_fields))
    return data


def _to_render(plan: ProofPlan, live: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(label, medium, template as Iterable returned it) for each message the send would make."""
    if plan.mode == ProofMode.TEMPLATE_PROOF and plan.template is not None:
        template = plan.template
        return [(f"Template '{template.name}'", template.medium, live.get(f"template:{template.iterable_id}"))]
    found = []
    for campaign in live.get("campaigns") or []:
        name = campaign.get("name") or f"campaign #{campaign.get('id')}"
        found.append(
            (
                f"Campaign '{name}'",
                campaign.get("messageMedium", ""),
                live.get(f"campaign-template:{campaign.get('id')}"),
            )
        )
    if found:
        return found
    # No campaign read from Iterable (a journey whose campaigns the catalog does not know): its templates.
    return [
        (f"Template '{t.name}'", t.medium, live.get(f"template:{t.iterable_id}"))
        for t in plan.notification.templates.all()
        if f"template:{t.iterable_id}" in live
    ]


def _one(label: str, medium: str, template: Any, data: dict[str, Any]) -> RenderedMessage:
    message = RenderedMessage(label=label, medium=medium)
    if not isinstance(template, dict):
        message.error = f"{label}: Iterable did not return the template, so its message cannot be shown."
        return message
    missing: list[str] = []

    def fill(key: str) -> str:
        text, empty = render_report(template.get(key) or "", data)
        missing.extend(name for name in empty if name not in missing)
        return text

    try:
        if medium == "Email":
            message.subject = fill("subject")
            message.preheader = fill("preheaderText")
            from_name, from_email = fill("fromName"), template.get("fromEmail") or ""
            message.sender = f"{from_name} <{from_email}>" if from_name and from_email else from_name or from_email
            message.html = fill("html")
        elif medium == "Push":
            message.title = fill("title")
            message.body = fill("message")
        else:
            message.error = f"{label} is a {medium} message: the preview shows email and push only."
            return message
    except RenderError as error:
        message.error = (
            f"{label} cannot be rendered: {error}. Iterable would not send it as it stands; fix the template in "
            "Iterable."
        )
        return message
    if len(message.html.encode()) > MAX_PREVIEW_HTML:
        message.html = ""
        message.error = f"{label}: its HTML is larger than {MAX_PREVIEW_HTML // 1024} KB, too large to preview here."
    message.missing = missing
    return message


def proof_render(*, plan: ProofPlan, live: dict[str, Any]) -> list[RenderedMessage]:
    """Each message the send would make, rendered for its recipient from the guard's live read of Iterable."""
    data = proof_merge_data(plan=plan, user=live.get("user"))
    return [_one(label, medium, template, data) for label, medium, template in _to_render(plan, live)]
