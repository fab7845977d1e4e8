"""The users & roles pages (admins only) and the public page where an invited person sets their password.

A set-password link is shown once, in the response to the POST that made it, and never stored.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from catalog import roles
from catalog.people.forms import InviteForm, RoleForm
from catalog.people.services import (
    user_deactivate,
    user_invite,
    user_reactivate,
    user_role,
    user_role_change,
    user_set_password_link,
)
from catalog.views.mixins import Perm, add_validation_errors


def _people_page(request, *, form=None, link=None, link_for=None, status=200):
    people = User.objects.order_by("-is_active", "username").prefetch_related("groups")
    rows = [(person, user_role(person), RoleForm(initial={"role": user_role(person)}, prefix=f"u{person.pk}"))
            for person in people]  # fmt: skip
    context = {
        "rows": rows,
        "form": form or InviteForm(),
        "link": request.build_absolute_uri(link) if link else None,
        "link_for": link_for,
        "roles": [(role, roles.ROLE_DESCRIPTIONS[role]) for role in roles.ROLES],
    }
    return render(request, "people/people_list.html", context, status=status)


@method_decorator(never_cache, name="dispatch")
class PeopleListView(Perm, View):
    """Everyone with an account, their role and whether they may sign in; inviting someone new."""

    permission_required = roles.MANAGE_USERS

    def get(self, request):
        return _people_page(request)

    def post(self, request):
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                invitation = user_invite(
                    actor=request.user, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                return _people_page(request, link=invitation.set_password_path, link_for=invitation.user)
        return _people_page(request, form=form, status=400)


class PersonActionView(Perm, View):
    """One POST on one person; refusals come back as a message on the list."""

    permission_required = roles.MANAGE_USERS
    http_method_names = ["post"]
    action = ""

    def post(self, request, pk: int):
        person = get_object_or_404(User, pk=pk)
        try:
            if self.action == "role":
                form = RoleForm(request.POST, prefix=f"u{person.pk}")
                if not form.is_valid():
                    raise ValidationError("Pick one of the roles.")
                user_role_change(actor=request.user, user=person, role=form.cleaned_data["role"])
                messages.success(request, f"{person.get_username()} is now {form.cleaned_data['role']}.")
            elif self.action == "deactivate":
                user_deactivate(actor=request.user, user=person)
                messages.success(
                    request, f"{person.get_username()} can no longer sign in; their API tokens stopped working."
                )
            elif self.action == "reactivate":
                user_reactivate(actor=request.user, user=person)
                messages.success(request, f"{person.get_username()} can sign in again.")
            elif self.action == "password_link":
                link = user_set_password_link(actor=request.user, user=person)
                return _people_page(request, link=link, link_for=person)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, f"{person.get_username()}: {message}")
        return redirect("catalog:people_list")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The invited person (or one who forgot their password) chooses a password, without signing in first."""

    template_name = "people/set_password.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        messages.success(self.request, "Your password is set: sign in with your email address and it.")
        return super().form_valid(form)
