"""Account endpoints (sign-up, token, me) and the load balancers' health check."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brands.models import BrandMembership
from brands.selectors import is_ops
from config.api_support import StrictCharField, StrictEmailField, StrictRegexField
from config.celery import worker_last_task_at
from config.errors import Conflict, InvalidInput
from config.rest import LoginRateThrottle
from config.security import lockout_response
from sellers.models import Seller

VERSION = "1.0.0"


class RegisterSerializer(serializers.Serializer):
    username = StrictRegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)
    email = StrictEmailField(max_length=254)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RegisterSerializer, responses={201: inline_serializer(
        "Registered", {"username": serializers.CharField(), "email": serializers.EmailField()})})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        User = get_user_model()
        candidate = User(username=values["username"], email=values["email"])
        try:
            password_validation.validate_password(values["password"], candidate)
        except DjangoValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), code="WEAK_PASSWORD", field="password") from None
        with transaction.atomic():
            if User.objects.filter(username__iexact=values["username"]).exists():
                raise Conflict("This username is taken.", code="USERNAME_TAKEN", field="username")
            user = User.objects.create_user(username=values["username"], email=values["email"],
                                            password=values["password"])
        return Response({"username": user.username, "email": user.email}, status=status.HTTP_201_CREATED)


class TokenSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenSerializer, responses={200: inline_serializer("TokenResult", {"token": serializers.CharField()})})
    def post(self, request):
        """A token for a username and password. Every try goes through ``authenticate(request=…)``,
        so django-axes counts the failures: too many for this username from this address answer
        429 ``LOCKED_OUT`` until the cool-off has passed (``config.security``)."""
        data = TokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request=request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(responses={200: inline_serializer("Me", {
        "username": serializers.CharField(), "is_ops": serializers.BooleanField(),
        "brands": serializers.ListField(child=serializers.DictField()),
        "sellers": serializers.ListField(child=serializers.CharField())})})
    def get(self, request):
        user = request.user
        memberships = BrandMembership.objects.filter(user=user).select_related("brand").order_by("brand__name")
        return Response({
            "username": user.get_username(),
            "is_ops": is_ops(user),
            "brands": [{"id": m.brand_id, "name": m.brand.name, "role": m.role} for m in memberships],
            "sellers": list(Seller.objects.filter(memberships__user=user).order_by("seller_id")
                            .values_list("seller_id", flat=True)),
        })


def broker_status() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        from config.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "not reachable"
        return f"error: {type(exc).__name__}"


class HealthzView(APIView):
    """API.md's health check, for load balancers: ``{db, broker, version}``, 503 when the database
    or the broker does not answer; no credentials needed, never throttled.

    Ops staff (by session or token) also see ``worker``: when a Celery worker last finished a task
    (``last_task_at``, null when none has, or tasks run eagerly) and how many seconds ago. Beat
    queues a task at least every 15 minutes, so an older time means the workers or beat are down.
    A stale worker does not fail the check: the web servers are fine."""

    permission_classes = [AllowAny]
    throttle_classes = []  # load balancers probe it often, all from a few addresses

    def perform_authentication(self, request):
        """Credentials are optional here, and a bad one is ignored rather than refused."""

    @extend_schema(responses={200: inline_serializer("Health", {
        "db": serializers.CharField(), "broker": serializers.CharField(), "version": serializers.CharField(),
        "worker": inline_serializer("WorkerHealth", {
            "last_task_at": serializers.DateTimeField(allow_null=True),
            "seconds_ago": serializers.IntegerField(allow_null=True)}, required=False,
            help_text="Ops staff only.")})})
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            db = "ok"
        except Exception as exc:  # noqa: BLE001
            db = f"error: {type(exc).__name__}"
        broker = broker_status()
        healthy = db == "ok" and broker in {"ok", "eager"}
        body = {"db": db, "broker": broker, "version": VERSION}
        if db == "ok" and _caller_is_ops(request):
            body["worker"] = worker_health()
        return Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


def _caller_is_ops(request) -> bool:
    try:
        return is_ops(request.user)
    except AuthenticationFailed:
        return False


def worker_health() -> dict:
    last_task_at = worker_last_task_at()
    seconds_ago = int((timezone.now() - last_task_at).total_seconds()) if last_task_at else None
    return {"last_task_at": last_task_at, "seconds_ago": seconds_ago}


def not_found(request, exception=None):
    """404 for a path no route matches: API.md's error shape under /api/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"code": "NOT_FOUND", "detail": "Not found."}]}, status=404)
    return page_not_found(request, exception)
