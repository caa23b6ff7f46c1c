"""The web app's shell: the home page that sends each user to what they can do, sign-up, and the
navigation every page shows. The pages themselves live with their apps (``brands.web``,
``authorizations.web``, ``sellers.web``, ``audit.web``)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.generic import FormView

from brands.models import Brand
from brands.selectors import is_ops_request
from sellers.models import Seller


class Navigation:
    """What the signed-in user can reach: their brands, their seller accounts, ops pages.
    Evaluated once per request, only when a template asks."""

    def __init__(self, request):
        self.user = user = request.user
        self.is_ops = is_ops_request(request)
        self.brands = list(
            Brand.objects.filter(memberships__user=user).order_by("name", "id").values("id", "name")
        )
        self.sellers = list(
            Seller.objects.filter(memberships__user=user).order_by("name").values("id", "seller_id", "name")
        )

    @property
    def is_owner(self) -> bool:
        return bool(self.brands)

    @property
    def is_partner(self) -> bool:
        return bool(self.sellers)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": None}
    return {"nav": SimpleLazyObject(lambda: Navigation(request))}


def home(request):
    """Send each user to what they can do; a newcomer gets the two ways in."""
    if not request.user.is_authenticated:
        return redirect("login")
    nav = Navigation(request)
    if nav.is_ops and not nav.brands and not nav.sellers:
        return redirect("ops:audit")
    if len(nav.brands) == 1 and not nav.sellers:
        return redirect("brands:dashboard", brand_id=nav.brands[0]["id"])
    if nav.brands:
        return redirect("brands:list")
    if nav.sellers:
        return redirect("partner:sellers")
    return render(request, "home.html", {"nav": nav})


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class SignupView(FormView):
    template_name = "registration/signup.html"
    form_class = SignupForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(self.request, _("Welcome, %(name)s. Your account is ready.") % {"name": user.username})
        return redirect(reverse("home"))
