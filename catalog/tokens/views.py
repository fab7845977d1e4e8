"""The token pages: a logged-in user lists, creates, rotates and revokes their own API tokens.

A new token is shown once, in the response to the POST that created (or rotated) it, and never again.
"""

from datetime import datetime, time

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import ApiToken
from catalog.tokens.services import (
    api_token_create,
    api_token_expires_at,
    api_token_max_days,
    api_token_revoke,
    api_token_rotate,
)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. the script that uses it.")
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the end of this day; without one, after the longest "
        "a token may live.",
    )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError("Pick today or a later day.")
        if value is not None and (value - timezone.localdate()).days > api_token_max_days():
            raise forms.ValidationError(f"A token lives at most {api_token_max_days()} days; pick an earlier day.")
        return value

    def expires_at(self) -> datetime | None:
        value = self.cleaned_data["expires_on"]
        if value is None:
            return None
        return timezone.make_aware(datetime.combine(value, time.max))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = api_token_create(
            actor=request.user, user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
        )
        form = TokenForm()
    return _render(request, form, new_token)


def _render(request, form, new_token=None, error="", status=200):
    tokens = [(token, api_token_expires_at(token)) for token in ApiToken.objects.filter(user=request.user)]
    context = {
        "form": form,
        "tokens": tokens,
        "new_token": new_token,
        "error": error,
        "now": timezone.now(),
        "max_days": api_token_max_days(),
    }
    return render(request, "api/tokens.html", context, status=status)


@never_cache
@login_required
@require_POST
def token_rotate(request, pk: int):
    """A new secret for the same script: shown once here; the old one stops working now."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        _, new_token = api_token_rotate(actor=request.user, token=token)
    except ValueError as error:
        return _render(request, TokenForm(), error=str(error), status=400)
    return _render(request, TokenForm(), new_token)


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(actor=request.user, token=token)
    return redirect("api:tokens")
