"""Filter forms of ops' pages: the audit log and the sync runs."""
from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from audit.queries import distinct_actions, distinct_object_types
from brands.models import Brand
from config.webkit import DateInput
from spapi_client.models import SyncKind, SyncRun, SyncStatus

from .labels import ACTION_LABELS, OBJECT_TYPE_LABELS

SELLER_ID = re.compile(r"^[A-Z0-9]{10,20}$")
MAX_ID = 2**63 - 1
CURSOR_FIELDS = ("before", "after")


class AuditFilterForm(forms.Form):
    """The audit log's filters (all optional) and its page cursor (``before``/``after`` an event id)."""

    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Brand.objects.order_by("name", "id"), required=False, empty_label=_("All brands"),
    )
    seller = forms.CharField(
        label=_("Seller ID"), required=False, max_length=40,
        widget=forms.TextInput(attrs={"placeholder": "A1B2C3D4E5", "autocomplete": "off", "spellcheck": "false"}),
    )
    actor = forms.CharField(
        label=_("Actor"), required=False, max_length=150,
        widget=forms.TextInput(attrs={"placeholder": _("username or task"), "autocomplete": "off"}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object ID"), required=False, max_length=64,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput(),
                                error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")})
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput(),
                              error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")})
    before = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=MAX_ID,
                                widget=forms.HiddenInput)
    after = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=MAX_ID,
                               widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = sorted(set(ACTION_LABELS) | set(distinct_actions()))
        self.fields["action"].choices = [("", _("All actions"))] + [
            (code, f"{ACTION_LABELS[code]} ({code})" if code in ACTION_LABELS else code) for code in actions
        ]
        types = sorted(set(OBJECT_TYPE_LABELS) | set(distinct_object_types()))
        self.fields["object_type"].choices = [("", _("Any object"))] + [
            (code, OBJECT_TYPE_LABELS.get(code, code)) for code in types
        ]

    def clean_seller(self) -> str:
        value = self.cleaned_data["seller"].strip().upper()
        if value and not SELLER_ID.match(value):
            raise forms.ValidationError(
                _("“%(value)s” is not a seller ID: 10 to 20 letters A–Z and digits."),
                code="INVALID_SELLER_ID", params={"value": value[:40]},
            )
        return value

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def clean_object_id(self) -> str:
        return self.cleaned_data["object_id"].strip()

    def clean(self):
        data = super().clean()
        since, until = data.get("date_from"), data.get("date_to")
        if since and until and since > until:
            self.add_error("date_to", forms.ValidationError(
                _("The end date (%(to)s) is before the start date (%(from)s)."), code="INVALID_RANGE",
                params={"to": until.isoformat(), "from": since.isoformat()}))
        if data.get("object_id") and not data.get("object_type"):
            self.add_error("object_type", forms.ValidationError(
                _("Choose the type of the object whose ID you entered."), code="REQUIRED"))
        if data.get("before") and data.get("after"):
            raise forms.ValidationError(_("This page link is malformed; start again from the newest events."),
                                        code="INVALID_CURSOR")
        return data

    @property
    def is_filtered(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields if name not in CURSOR_FIELDS)

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """``events`` narrowed by the valid form's filters (not paged)."""
        data = self.cleaned_data
        if data.get("brand"):
            events = events.filter(brand_id=data["brand"].pk)
        if data.get("seller"):
            events = events.filter(seller_id=data["seller"])
        if data.get("actor"):
            events = events.filter(actor=data["actor"])
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("object_type"):
            events = events.filter(object_type=data["object_type"])
        if data.get("object_id"):
            events = events.filter(object_id=data["object_id"])
        # Dates are whole days in UTC (the site's time zone); "to" includes its day.
        if data.get("date_from"):
            events = events.filter(at__gte=_midnight(data["date_from"]))
        if data.get("date_to") and data["date_to"] < dt.date.max:
            events = events.filter(at__lt=_midnight(data["date_to"] + dt.timedelta(days=1)))
        return events


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class SyncRunFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *SyncStatus.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *SyncKind.choices])
    before = forms.UUIDField(label=_("Page"), required=False, widget=forms.HiddenInput)
    after = forms.UUIDField(label=_("Page"), required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("before") and data.get("after"):
            raise forms.ValidationError(_("This page link is malformed; start again from the newest runs."),
                                        code="INVALID_CURSOR")
        return data

    def filter(self, runs: QuerySet[SyncRun]) -> QuerySet[SyncRun]:
        data = self.cleaned_data
        if data.get("status"):
            runs = runs.filter(status=data["status"])
        if data.get("kind"):
            runs = runs.filter(kind=data["kind"])
        return runs
