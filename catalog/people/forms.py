"""The users page's forms: invite someone, change a person's role."""

from django import forms

from catalog import roles

ROLE_CHOICES = [(role, f"{role.capitalize()}: {roles.ROLE_DESCRIPTIONS[role]}") for role in roles.ROLES]


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=150,
        help_text="They sign in with this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        choices=ROLE_CHOICES, initial=roles.VIEWER, help_text="What they may do; change it any time."
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(role, role.capitalize()) for role in roles.ROLES])
