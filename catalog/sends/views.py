"""Test send pages: the send form with its preview, the record of attempts, and the test-recipient allowlist.

Thin: the rules (allowlist, guard, live re-check, eligibility, rate limit, double submit) are all in
catalog/services/sends.py; these views turn form input into its arguments and its answers into pages.
"""

import json
import uuid

from csp.decorators import csp as csp_policy
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin

from catalog.models import Notification, ProofRecipient, ProofSend
from catalog.roles import MANAGE_SHARED_RECIPIENTS
from catalog.sends import data_inputs
from catalog.sends.forms import ProofRecipientForm, ProofSendForm
from catalog.sends.selectors import proof_send_for
from catalog.sends.services.checks import proof_preview
from catalog.sends.services.data import proof_data_fields_initial, proof_mode_default, proof_templates
from catalog.sends.services.dispatch import proof_send
from catalog.sends.services.recipients import (
    ProofRecipientChanged,
    proof_recipient_approval_refusal,
    proof_recipient_approve,
    proof_recipient_can_manage,
    proof_recipient_create,
    proof_recipient_delete,
    proof_recipients_pending,
    proof_recipients_visible,
)
from catalog.sends.services.results import ProofSendDuplicate
from catalog.services.input_limits import unstorable
from catalog.views.mixins import Perm, add_validation_errors
from catalog.views.paging import PAGE_SIZE, CappedPaginator

SEND_PROOF = "catalog.send_proof"


def _manageable(user):
    """Recipients `user` may remove: their own and shared ones, and everyone's waiting ones if they approve."""
    mine = proof_recipients_visible(user=user).values("pk")
    waiting = proof_recipients_pending(user=user).values("pk")
    return ProofRecipient.objects.filter(Q(pk__in=mine) | Q(pk__in=waiting))


@method_decorator(never_cache, name="dispatch")
class ProofSendFormView(Perm, View):
    """Pick a recipient, edit the data fields, preview the exact request, send. The form carries a one-time
    token: submitting it twice sends once."""

    permission_required = SEND_PROOF

    def get_notification(self, key):
        return get_object_or_404(
            Notification.objects.select_related("project", "message_type__channel", "event").prefetch_related(
                "templates__message_type__channel", "event__fields"
            ),
            key=key,
        )

    def get(self, request, key):
        notification = self.get_notification(key)
        templates = proof_templates(notification)
        fields = proof_data_fields_initial(notification=notification)
        initial = {
            "submission_token": uuid.uuid4().hex,
            "mode": proof_mode_default(notification),
            "template": templates[0].pk if templates else None,
        }
        schema = {f.name for f in notification.event.fields.all()} if notification.event_id else set()
        extra = {k: v for k, v in fields.items() if k not in schema}
        form = ProofSendForm(initial=initial, notification=notification, user=request.user, extra_names=list(extra))
        recipients = form.recipients
        form.initial["recipient"] = recipients[0].pk if recipients else None
        form.initial.update(data_inputs.initial_for(form.groups, fields))
        for i, (name, value) in enumerate(extra.items()):
            form.initial[f"{data_inputs.EXTRA_NAME}{i}"] = name
            form.initial[f"{data_inputs.EXTRA_VALUE}{i}"] = value if isinstance(value, str) else json.dumps(value)
        return self.render(request, notification, form)

    def post(self, request, key):
        notification = self.get_notification(key)
        form = ProofSendForm(request.POST, notification=notification, user=request.user)
        preview = None
        frames = []
        if form.is_valid():
            data = form.cleaned_data
            given = {
                "notification": notification,
                "mode": data["mode"],
                "template": data["template"],
                "recipient": data["recipient"],
                "data_fields": data["data_fields_value"],
            }
            try:
                if request.POST.get("action") == "send":
                    attempt = proof_send(
                        actor=request.user,
                        submission_token=data["submission_token"],
                        confirm_event=data.get("confirm_event", False),
                        **given,
                    )
                    return redirect("catalog:proof_send_detail", pk=attempt.pk)
                preview = proof_preview(actor=request.user, **given)
                frames = _frames_keep(request, [message.html for message in preview.rendered])
            except ProofSendDuplicate as duplicate:
                messages.info(request, str(duplicate))
                return redirect("catalog:proof_send_detail", pk=duplicate.attempt.pk)
            except ValidationError as error:
                form.add_service_errors(error)
        return self.render(request, notification, form, preview, frames, status=200 if form.is_valid() else 400)

    def render(self, request, notification, form, preview=None, frames=(), status=200):
        context = {
            "n": notification,
            "form": form,
            "preview": preview,
            "messages_shown": list(zip(preview.rendered, frames, strict=True)) if preview else [],
            "data_groups": [
                (g, [form[i.name] for i in g.inputs], [[form[i.name] for i in row] for row in g.rows])
                for g in form.groups
            ],
            "extra_rows": form.extra_rows(),
            "has_recipients": bool(form.recipients),
        }
        return render(request, "sends/send_form.html", context, status=status)


# The rendered HTML of the latest preview, by a random token, in the person's session: the frame that shows it
# loads it by URL (with its own strict policy), and the session is in the database, so any worker can answer.
# Only the latest preview's: the session is read on every request, so it does not collect old ones.
_FRAMES = "sends_preview_frames"


def _frames_keep(request, bodies: list[str]) -> list[str]:
    """Keep each HTML body for the preview frame; the tokens their URLs carry ("" where there is no body)."""
    kept, tokens = {}, []
    for html in bodies:
        token = uuid.uuid4().hex if html else ""
        if html:
            kept[token] = html
        tokens.append(token)
    request.session[_FRAMES] = kept
    return tokens


# This view's whole policy, in place of the site's: an email's HTML may have its own inline styles and its
# images, nothing that runs, loads pages or posts forms, and it is shown only inside this site's own page.
_FRAME_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["https:", "data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
    # Opened as a page of its own (not through the iframe's sandbox) the email must still not run on the
    # site's origin: a bare sandbox (no allowances) gives it an opaque origin, no scripts, forms or popups.
    "sandbox": True,
}


@method_decorator(never_cache, name="dispatch")
@method_decorator(xframe_options_sameorigin, name="dispatch")
@method_decorator(csp_policy(_FRAME_POLICY), name="dispatch")
class ProofPreviewFrameView(Perm, View):
    """The rendered HTML of a preview, for the sandboxed frame on the test-send page; only its own session's."""

    permission_required = SEND_PROOF

    def get(self, request, token):
        html = (request.session.get(_FRAMES) or {}).get(token)
        if html is None:
            html = "<p>This preview has expired: press Preview again.</p>"
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class ProofSendListView(Perm, View):
    """Every test send attempt, newest first; ?mine=1 for one's own, ?notification=<key> for one notification."""

    permission_required = SEND_PROOF

    def get(self, request):
        attempts = ProofSend.objects.select_related("notification", "project")
        if request.GET.get("mine"):
            attempts = attempts.filter(actor=request.user)
        if request.GET.get("notification"):
            key = request.GET["notification"]
            # No key holds NUL, and PostgreSQL refuses it in a query: nothing matches.
            attempts = attempts.none() if unstorable(key) else attempts.filter(notification_key=key)
        page = CappedPaginator(attempts.select_related("recipient"), PAGE_SIZE).get_page(request.GET.get("page"))
        shown = [proof_send_for(user=request.user, attempt=a) for a in page.object_list]
        return render(request, "sends/send_list.html", {"page": page, "attempts": shown})


@method_decorator(never_cache, name="dispatch")
class ProofSendDetailView(Perm, View):
    permission_required = SEND_PROOF

    def get(self, request, pk):
        attempt = get_object_or_404(ProofSend.objects.select_related("notification", "project", "recipient"), pk=pk)
        attempt = proof_send_for(user=request.user, attempt=attempt)
        body = json.dumps(attempt.request_body, indent=2, ensure_ascii=False)
        answer = json.dumps(attempt.response, indent=2, ensure_ascii=False) if attempt.response is not None else ""
        return render(request, "sends/send_detail.html", {"attempt": attempt, "body": body, "answer": answer})


class ProofRecipientListView(Perm, View):
    """One's own test recipients and the shared ones; admins also manage the shared ones and approve (or
    refuse) anyone's recipient that is not their own address or at a staff domain."""

    permission_required = SEND_PROOF

    def get(self, request):
        project = request.GET.get("project", "")
        initial = {"project": project} if project.isdigit() else {}
        return self.render(request, ProofRecipientForm(initial=initial, user=request.user))

    def post(self, request):
        form = ProofRecipientForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                recipient = proof_recipient_create(
                    actor=request.user,
                    project=data["project"],
                    email=data["email"],
                    user_id=data["user_id"],
                    label=data["label"],
                    shared=data.get("shared", False),
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                if recipient.status == "pending":
                    messages.info(
                        request,
                        f"Added test recipient {recipient.identifier}. It is waiting for an admin's approval "
                        "(only your own address and staff addresses need none) and receives nothing until then.",
                    )
                else:
                    messages.success(request, f"Added test recipient {recipient.identifier}.")
                return redirect(_back_to(request) or "catalog:proof_recipient_list")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        recipients = [
            (r, proof_recipient_can_manage(user=request.user, recipient=r))
            for r in proof_recipients_visible(user=request.user)
        ]
        pending = [
            (r, proof_recipient_approval_refusal(actor=request.user, recipient=r))
            for r in proof_recipients_pending(user=request.user)
        ]
        context = {"form": form, "recipients": recipients, "pending": pending, "next": _back_to(request)}
        return render(request, "sends/recipient_list.html", context, status=status)


def _back_to(request) -> str:
    """The page to return to after adding a recipient (`next`, e.g. a notification's test send): only a path on
    this site, never another host (an open redirect would lend this site's name to anyone's link)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


class ProofRecipientDeleteView(Perm, View):
    permission_required = SEND_PROOF

    def post(self, request, pk):
        recipient = get_object_or_404(_manageable(request.user), pk=pk)
        try:
            proof_recipient_delete(actor=request.user, recipient=recipient)
        except PermissionDenied:
            messages.error(request, "Only admins remove shared test recipients.")
        else:
            messages.success(request, f"Removed test recipient {recipient.identifier}.")
        return redirect("catalog:proof_recipient_list")


class ProofRecipientApproveView(Perm, View):
    """A second person approves a waiting test recipient; audited, and shown in the activity log."""

    permission_required = MANAGE_SHARED_RECIPIENTS

    def post(self, request, pk):
        recipient = get_object_or_404(ProofRecipient, pk=pk)
        try:
            proof_recipient_approve(actor=request.user, recipient=recipient, seen=request.POST.get("identifier", ""))
        except (PermissionDenied, ProofRecipientChanged) as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, f"Approved test recipient {recipient.identifier}.")
        return redirect("catalog:proof_recipient_list")
