"""Forms of the brand owner's authorization pages. They parse and validate input only: whether a
grant is allowed is decided by :func:`authorizations.rules.evaluate` through the services."""
from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from authorizations import services
from authorizations.models import GrantStatus
from config.errors import InvalidInput
from config.webkit import DateInput
from sellers.models import Marketplace, Seller
from sellers.services import clean_seller_id

ASIN_SEPARATORS = re.compile(r"[\s,;]+")
EXPIRING_SOON = "EXPIRING_SOON"
MODE_ALL = "all"
MODE_ELIGIBLE = "eligible"


def split_codes(text: str) -> list[str]:
    """ASIN codes pasted in any shape: one per line, or separated by spaces, commas or semicolons."""
    return [part for part in ASIN_SEPARATORS.split(text or "") if part]


def start_of_day(day: dt.date | None) -> dt.datetime | None:
    """A date as the first moment of that day in the site's time zone (grants store times)."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


REGION_ORDER = {"NA": 0, "EU": 1, "FE": 2}


def supported_marketplaces() -> list[Marketplace]:
    """The supported marketplaces by region (North America, Europe, Far East), then code."""
    markets = Marketplace.objects.filter(supported=True)
    return sorted(markets, key=lambda m: (REGION_ORDER.get(m.region, len(REGION_ORDER)), m.code))


class GrantForm(forms.Form):
    """One seller × many ASINs × many marketplaces, with a term and a reason."""

    seller = forms.CharField(
        label=_("Seller"), max_length=40,
        help_text=_("The seller's merchant id. Type part of its id or name to see suggestions."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "list": "seller-options"}),
    )
    asins = forms.CharField(
        label=_("ASINs"), required=False,
        help_text=_("Paste ASINs separated by spaces, commas or new lines, or tick them in the catalog below."),
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
    )
    marketplaces = forms.MultipleChoiceField(
        label=_("Marketplaces"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means the seller's home marketplace only."),
    )
    valid_from = forms.DateField(
        label=_("Starts on"), required=False, widget=DateInput(),
        help_text=_("Empty: from now."),
    )
    valid_until = forms.DateField(
        label=_("Ends on"), required=False, widget=DateInput(),
        help_text=_("Access ends at the start of this day. Empty: no end date."),
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000,
        help_text=_("Why this seller may sell these products; kept in the audit log."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    letter_reference = forms.CharField(
        label=_("Authorization letter"), required=False, max_length=200,
        help_text=_("Reference of the signed letter this grant rests on, if any."),
    )
    mode = forms.ChoiceField(
        label=_("If some pairs are not eligible"), initial=MODE_ALL, widget=forms.RadioSelect,
        choices=[(MODE_ALL, _("All or nothing: grant nothing")),
                 (MODE_ELIGIBLE, _("Grant the eligible ones and leave the others out"))],
    )

    def __init__(self, *args, brand, marketplaces: list[Marketplace] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.brand = brand
        markets = supported_marketplaces() if marketplaces is None else marketplaces
        self.fields["marketplaces"].choices = [(m.code, m.name) for m in markets]

    # -- fields -------------------------------------------------------------------------------

    def clean_seller(self) -> Seller:
        raw = (self.cleaned_data.get("seller") or "").strip().upper()
        try:
            seller_id = clean_seller_id(raw, field_name="seller")
        except InvalidInput as exc:
            raise forms.ValidationError([e.detail for e in exc.errors]) from exc
        seller = Seller.objects.select_related("home_marketplace").filter(seller_id=seller_id).first()
        if seller is None:
            # The same words as the rule (and the API) for a seller that never connected.
            raise forms.ValidationError(
                gettext("Seller %(seller)s has not connected its Seller Central account.") % {"seller": seller_id},
                code="SELLER_NOT_CONNECTED",
            )
        return seller

    def clean(self):
        data = super().clean()
        codes = split_codes(data.get("asins", "")) + [c for c in self.data.getlist("catalog_asins") if c]
        if not codes:
            self.add_error("asins", gettext("Enter at least one ASIN, or tick some in the catalog."))
        else:
            try:
                data["asin_codes"] = services.clean_asin_codes(codes, field_name="asins")
            except InvalidInput as exc:
                for item in exc.errors:
                    self.add_error("asins", item.detail)
        return data

    # -- what the service takes ---------------------------------------------------------------

    def service_arguments(self) -> dict:
        """Keyword arguments for :func:`authorizations.services.grants_create`."""
        data = self.cleaned_data
        today = timezone.localdate()
        starts = data.get("valid_from")
        return {
            "brand": self.brand,
            "seller": data["seller"],
            "asins": data["asin_codes"],
            "marketplaces": data.get("marketplaces") or None,
            "valid_from": None if starts is None or starts == today else start_of_day(starts),
            "valid_until": start_of_day(data.get("valid_until")),
            "reason": data.get("reason", ""),
            "letter_reference": data.get("letter_reference", ""),
            "partial": data.get("mode") == MODE_ELIGIBLE,
        }


class GrantFilterForm(forms.Form):
    """The filter bar of a brand's grant list (every field optional; a bad value is ignored)."""

    seller = forms.CharField(label=_("Seller"), required=False, max_length=200,
                             widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Id or name")}))
    asin = forms.CharField(label=_("ASIN"), required=False, max_length=10,
                           widget=forms.TextInput(attrs={"type": "search", "class": "mono"}))
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        markets = Marketplace.objects.filter(supported=True).order_by("code").values_list("code", flat=True)
        self.fields["marketplace"].choices = [("", _("All"))] + [(code, code) for code in markets]
        self.fields["status"].choices = ([("", _("Any"))] + list(GrantStatus.choices)
                                         + [(EXPIRING_SOON, _("Expiring soon"))])

    def value(self, name: str) -> str:
        """The cleaned value of a field, or "" when it was empty or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        if name in self.errors:
            return ""
        return self.cleaned_data.get(name) or ""


class ReasonForm(forms.Form):
    """The reason a confirmation step asks for (required where the service requires it)."""

    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, required: bool = True, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        if help_text:
            self.fields["reason"].help_text = help_text
