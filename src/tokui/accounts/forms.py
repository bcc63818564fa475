from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tokui.accounts.enums import ApiScope
from tokui.accounts.models import ApiKey
from tokui.accounts.selectors import api_keys


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


class ApiRequestFilterForm(forms.Form):
    """The filters of the request log: one key (revoked ones too), and only the requests that failed."""

    key = forms.ModelChoiceField(
        label=_("Key"), queryset=ApiKey.objects.none(), required=False, empty_label=_("All keys")
    )
    errors_only = forms.BooleanField(label=_("Errors only (status 400 and above)"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        key_field = self.fields["key"]
        assert isinstance(key_field, forms.ModelChoiceField)
        key_field.queryset = api_keys()
