"""Forms of the partner pages. They parse input only: the services and selectors decide."""
from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from authorizations.models import GrantStatus, RequestStatus
from sellers.models import Marketplace
from sellers.selectors import requestable_brand

ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")
CODE_SPLIT = re.compile(r"[\s,;]+")


def marketplace_label(market: Marketplace) -> str:
    return f"{market.code} · {market.name}"


def supported_marketplace_choices() -> list[tuple[str, str]]:
    return [(m.code, marketplace_label(m)) for m in Marketplace.objects.filter(supported=True).order_by("code")]


def seller_label(seller) -> str:
    """``Name (ID)``; the id alone for a seller still named by it (just connected, not yet synced)."""
    return seller.seller_id if seller.name == seller.seller_id else f"{seller.name} ({seller.seller_id})"


def seller_choices(sellers) -> list[tuple[str, str]]:
    return [(s.seller_id, seller_label(s)) for s in sellers]


def split_codes(text: str) -> list[str]:
    """ASIN codes as a partner pastes them: one per line, or separated by spaces, commas, semicolons."""
    return [code for code in CODE_SPLIT.split(text or "") if code]


class DisconnectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit log with the disconnection."),
    )


class HomeMarketplaceForm(forms.Form):
    home_marketplace = forms.ChoiceField(label=_("Home marketplace"))

    def __init__(self, *args, seller, **kwargs):
        super().__init__(*args, **kwargs)
        markets = (Marketplace.objects.filter(participations__seller=seller, participations__is_participating=True)
                   .order_by("code"))
        self.fields["home_marketplace"].choices = [(m.code, marketplace_label(m)) for m in markets]
        self.fields["home_marketplace"].initial = seller.home_marketplace_id


class GrantFilterForm(forms.Form):
    """The filter bar of "My authorizations": every field optional; a bad value is ignored."""

    seller = forms.ChoiceField(label=_("Seller"), required=False)
    brand = forms.TypedChoiceField(label=_("Brand"), required=False, coerce=int, empty_value=None)
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    asin = forms.CharField(label=_("ASIN"), required=False, max_length=20,
                           widget=forms.TextInput(attrs={"type": "search", "placeholder": "B0…"}))
    expiring = forms.BooleanField(label=_("Expiring soon only"), required=False)

    def __init__(self, *args, sellers, brands, marketplaces, **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["seller"].choices = everything + seller_choices(sellers)
        self.fields["brand"].choices = everything + [(b["id"], b["name"]) for b in brands]
        self.fields["marketplace"].choices = everything + [(m.code, marketplace_label(m)) for m in marketplaces]
        self.fields["status"].choices = everything + list(GrantStatus.choices)

    def filters(self) -> dict:
        """The valid filters (a malformed one is dropped rather than refused: this is a GET)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value not in (None, "", False)}

    def clean_asin(self):
        return (self.cleaned_data.get("asin") or "").strip().upper()


class RequestFilterForm(forms.Form):
    seller = forms.ChoiceField(label=_("Seller"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, sellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seller"].choices = [("", _("All"))] + seller_choices(sellers)
        self.fields["status"].choices = [("", _("All"))] + list(RequestStatus.choices)

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value}


class RequestForm(forms.Form):
    """Ask a brand for ASINs × marketplaces. The brand is found by a name search
    (:func:`sellers.selectors.requestable_brands`) and picked from the results."""

    seller = forms.ChoiceField(label=_("Seller account"))
    brand_q = forms.CharField(
        label=_("Brand name"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Type part of the brand's name as Amazon's catalog shows it, then choose it."),
    )
    brand = forms.IntegerField(label=_("Brand"), min_value=1, required=True,
                               error_messages={"required": _("Search for the brand by name and choose it.")})
    asins = forms.CharField(
        label=_("ASINs"), widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
        help_text=_("One per line, or separated by spaces or commas."),
        error_messages={"required": _("Name at least one ASIN.")},
    )
    marketplaces = forms.MultipleChoiceField(
        label=_("Marketplaces"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the seller's home marketplace."),
    )
    message = forms.CharField(
        label=_("Message to the brand"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional: who you are, where you source the products, your authorization letter."),
    )

    def __init__(self, *args, sellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seller"].choices = seller_choices(sellers)
        self.fields["marketplaces"].choices = supported_marketplace_choices()
        self.chosen_brand = None

    def clean_brand(self):
        brand = requestable_brand(self.cleaned_data.get("brand"))
        if brand is None:
            raise forms.ValidationError(_("Choose a brand from the search results."), code="invalid_choice")
        self.chosen_brand = brand
        return brand

    def clean_asins(self):
        codes = split_codes(self.cleaned_data.get("asins", ""))
        if not codes:
            raise forms.ValidationError(_("Name at least one ASIN."), code="required")
        return codes  # the service checks each code and names the bad ones


class DiagnosisForm(forms.Form):
    """Why can't my seller sell ASIN X in marketplace M?"""

    seller = forms.ChoiceField(label=_("Seller account"))
    asin = forms.CharField(label=_("ASIN"), max_length=20,
                           widget=forms.TextInput(attrs={"placeholder": "B0…", "spellcheck": "false",
                                                         "autocapitalize": "characters"}))
    marketplace = forms.ChoiceField(label=_("Marketplace"))

    def __init__(self, *args, sellers, **kwargs):
        super().__init__(*args, **kwargs)
        sellers = list(sellers)
        self.fields["seller"].choices = seller_choices(sellers)
        markets = list(Marketplace.objects.order_by("code"))
        supported = [(m.code, marketplace_label(m)) for m in markets if m.supported]
        others = [(m.code, marketplace_label(m)) for m in markets if not m.supported]
        choices: list = [(_("Supported"), supported)]
        if others:
            choices.append((_("Not supported"), others))
        self.fields["marketplace"].choices = choices
        if len(sellers) == 1:
            self.fields["seller"].initial = sellers[0].seller_id
        if sellers and sellers[0].home_marketplace_id:
            self.fields["marketplace"].initial = sellers[0].home_marketplace_id

    def clean_asin(self):
        value = (self.cleaned_data.get("asin") or "").strip().upper()
        if not ASIN_RE.match(value):
            raise forms.ValidationError(_("“%(value)s” is not an ASIN (10 letters or digits)."),
                                        code="invalid", params={"value": value[:20]})
        return value
