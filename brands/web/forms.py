from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from brands.importing import CSV_COLUMNS
from brands.models import PresenceStatus, Role
from config.webkit import DateInput
from sellers.models import Marketplace

# The largest CSV the import page takes, as a file or pasted: the request body cap
# (DATA_UPLOAD_MAX_MEMORY_SIZE, 5 MB) — a 10,000-line import fits well within it.
IMPORT_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BrandCreateForm(forms.Form):
    name = forms.CharField(label=_("Brand name"), max_length=200)
    registry_number = forms.CharField(
        label=_("Brand Registry number"), max_length=64,
        help_text=_("As Amazon Brand Registry shows it. The brand stays PENDING until operations verify it."),
    )


def marketplace_choices(empty_label) -> list[tuple[str, str]]:
    return [("", empty_label)] + [
        (code, f"{code} · {name}") for code, name in Marketplace.objects.order_by("-supported", "code")
        .values_list("code", "name")
    ]


class AsinFilterForm(forms.Form):
    """The catalog's filters (GET). Invalid values are ignored, as if left empty."""

    PRESENCE_CHOICES = [("", _("Any verification")), *PresenceStatus.choices]
    REGISTERED_CHOICES = [("", _("With or without GCID")), ("yes", _("Brand-registered (GCID)")),
                          ("no", _("No GCID"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("ASIN or title"),
                                                      "autocomplete": "off"}))
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    presence = forms.ChoiceField(label=_("Catalog verification"), required=False, choices=PRESENCE_CHOICES)
    registered = forms.ChoiceField(label=_("Brand Registry"), required=False, choices=REGISTERED_CHOICES)
    at_limit = forms.BooleanField(label=_("At the seller limit only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["marketplace"].choices = marketplace_choices(_("All marketplaces"))

    def values(self) -> dict:
        """The valid filters (an invalid one counts as empty)."""
        if self.is_valid():
            return self.cleaned_data
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


class AsinImportForm(forms.Form):
    csv_file = forms.FileField(
        label=_("CSV file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    csv_text = forms.CharField(
        label=_("Or paste the lines"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono",
                                     "placeholder": ",".join(CSV_COLUMNS)}),
    )
    partial = forms.BooleanField(
        label=_("Import the valid lines even if some lines have errors"), required=False,
        help_text=_("Without this, one bad line stops the whole import and nothing is written."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csv_file"].help_text = _("UTF-8 text, at most %(size)s.") % {
            "size": filesizeformat(IMPORT_MAX_BYTES)}

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if not upload:
            return None
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(max)s. Split it into smaller files.")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(IMPORT_MAX_BYTES)}, code="too_large")
        raw = upload.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                _("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (Comma delimited)”."),
                code="encoding") from None

    def clean(self):
        data = super().clean()
        text, pasted = data.get("csv_file"), data.get("csv_text") or ""
        if "csv_file" in self.errors:
            return data
        if text and pasted.strip():
            raise forms.ValidationError(_("Upload a file or paste lines, not both."), code="both")
        if not text and not pasted.strip():
            raise forms.ValidationError(_("Choose a CSV file or paste its lines."), code="required")
        data["text"] = text or pasted
        data["source_name"] = self.files["csv_file"].name if text else ""
        return data


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)


class BrandSettingsForm(forms.Form):
    name = forms.CharField(label=_("Brand name"), max_length=200,
                           help_text=_("As Amazon's catalog shows it: catalog verification compares the two."))
    dual_control = forms.BooleanField(
        label=_("Dual control"), required=False,
        help_text=_("New grants wait as PENDING_APPROVAL until another member of the brand approves them."),
    )
    spapi_account = forms.ModelChoiceField(
        label=_("SP-API account"), required=False, queryset=None, empty_label=_("None"),
        help_text=_("The Seller Central account catalog verification and offers monitoring run on: "
                    "one that a member of the brand has connected."),
    )

    def __init__(self, *args, accounts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spapi_account"].queryset = accounts
        self.fields["spapi_account"].label_from_instance = lambda s: f"{s.name} ({s.seller_id})"


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=pgettext_lazy("audit trail filter", "Action"), required=False)
    actor = forms.CharField(label=_("Who"), required=False, max_length=150,
                            widget=forms.TextInput(attrs={"placeholder": _("Username or task")}))
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, action_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions")), *action_choices]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    @staticmethod
    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


class FindingFilterForm(forms.Form):
    STATUS_CHOICES = [("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All"))]

    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    seller = forms.ChoiceField(label=_("Offering seller"), required=False)
    asin = forms.CharField(label=_("ASIN"), required=False, max_length=10,
                           widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))

    def __init__(self, *args, sellers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["marketplace"].choices = marketplace_choices(_("All marketplaces"))
        self.fields["seller"].choices = [("", _("All sellers"))] + [
            (seller_id, f"{name} ({seller_id})" if name else seller_id) for seller_id, name in sellers
        ]

    def values(self) -> dict:
        if self.is_valid():
            data = dict(self.cleaned_data)
        else:
            data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        data["status"] = data.get("status") or "open"
        data["asin"] = (data.get("asin") or "").strip().upper()
        return data
