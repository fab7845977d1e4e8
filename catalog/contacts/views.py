"""Contact lookup pages."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from catalog.contacts.forms import ContactLookupForm
from catalog.contacts.services import LookupGone, contact_lookup_again, contact_lookup_run
from catalog.health.panels import contact_reported
from catalog.views.mixins import Perm

LOOKUP_CONTACT = "catalog.lookup_contact"


def _share_url(request, event_id: int) -> str:
    return request.build_absolute_uri(reverse("catalog:contact_lookup_shared", args=[event_id]))


@method_decorator(never_cache, name="dispatch")
class ContactLookupView(Perm, View):
    """Personal data: needs the lookup permission, is audited by the service, never cached by the browser.

    The lookup is a POST so the address never lands in URLs, browser history or access logs; the result names
    its audit event's address instead, which colleagues who may look contacts up can open.
    """

    permission_required = LOOKUP_CONTACT

    def get(self, request):
        form = ContactLookupForm(initial={k: request.GET[k] for k in ("project", "notification") if k in request.GET})
        return render(request, "catalog/contact_lookup.html", {"form": form})

    def post(self, request):
        form = ContactLookupForm(request.POST)
        lookups, share = None, ""
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = contact_lookup_run(
                    actor=request.user,
                    email=data["email"],
                    user_id=data["user_id"],
                    project=data["project"],
                    notification=data["notification"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                lookups, share = run.lookups, _share_url(request, run.event.pk)
                contact_reported(lookups=lookups, email=data["email"], user_id=data["user_id"])
        return render(request, "catalog/contact_lookup.html", {"form": form, "lookups": lookups, "share": share})


@method_decorator(never_cache, name="dispatch")
class ContactLookupSharedView(Perm, View):
    """A lookup opened by its address (its audit event), run again now. Only for people who may look contacts
    up: anyone else gets 403 before the event is read, so the link says nothing about whom it is."""

    permission_required = LOOKUP_CONTACT

    def get(self, request, event_id):
        try:
            asked, run = contact_lookup_again(actor=request.user, event_id=event_id)
        except LookupGone as gone:
            context = {"form": ContactLookupForm(), "gone": str(gone)}
            return render(request, "catalog/contact_lookup.html", context, status=404)
        form = ContactLookupForm(
            initial={
                "email": asked.email,
                "user_id": asked.user_id,
                "project": asked.project.pk if asked.project else None,
                "notification": asked.notification.key if asked.notification else None,
            }
        )
        contact_reported(lookups=run.lookups, email=asked.email, user_id=asked.user_id)
        context = {"form": form, "lookups": run.lookups, "share": _share_url(request, event_id), "shared": True}
        return render(request, "catalog/contact_lookup.html", context)
