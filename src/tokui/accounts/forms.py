from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tokui.accounts.enums import ApiScope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Key name"),
        max_length=100,
        help_text=_("Who or what uses the key, such as “ERP nightly sync”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiScope.READ],
        help_text=_("Give a key only what it needs. Write includes sending events; administer includes everything."),
    )
