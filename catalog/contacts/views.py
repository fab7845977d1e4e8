"""Contact lookup pages."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from catalog.contacts.forms import ContactLookupForm
from catalog.contacts.services import contact_lookup
from catalog.health.panels import contact_reported
from catalog.views.mixins import Perm


@method_decorator(never_cache, name="dispatch")
class ContactLookupView(Perm, View):
    """Personal data: needs the lookup permission, is audited by the service, never cached by the browser.

    The lookup is a POST so the address never lands in URLs, browser history or access logs.
    """

    permission_required = "catalog.lookup_contact"

    def get(self, request):
        form = ContactLookupForm(initial={k: request.GET[k] for k in ("project", "notification") if k in request.GET})
        return render(request, "catalog/contact_lookup.html", {"form": form})

    def post(self, request):
        form = ContactLookupForm(request.POST)
        lookups = None
        if form.is_valid():
            try:
                lookups = contact_lookup(
                    actor=request.user,
                    email=form.cleaned_data["email"],
                    user_id=form.cleaned_data["user_id"],
                    project=form.cleaned_data["project"],
                    notification=form.cleaned_data["notification"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                data = form.cleaned_data
                contact_reported(lookups=lookups, email=data["email"], user_id=data["user_id"])
        return render(request, "catalog/contact_lookup.html", {"form": form, "lookups": lookups})
