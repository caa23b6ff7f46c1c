"""``GET /api/v1/jobs/{job_id}``: the state of a background job (a :class:`SyncRun`).

Visible to the user who asked for it, to the partners of the run's seller, to the members of
the run's brand, and to ops staff; anyone else — and a malformed id — gets 404.
"""
from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brands.selectors import is_ops
from config.api_support import get_visible
from config.errors import NotFound

from .models import SyncRun, SyncStatus
from .runs import run_as_dict


def runs_visible_to(user) -> QuerySet[SyncRun]:
    if is_ops(user):
        return SyncRun.objects.all()
    if user is None or not user.is_authenticated:
        return SyncRun.objects.none()
    return SyncRun.objects.filter(
        Q(requested_by=user) | Q(seller__memberships__user=user) | Q(brand__memberships__user=user)
    ).distinct()


def _job_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError):
        raise NotFound("Not found.", code="NOT_FOUND") from None


JobSerializer = inline_serializer(
    name="Job",
    fields={
        "job_id": serializers.UUIDField(),
        "kind": serializers.CharField(),
        "status": serializers.ChoiceField(choices=SyncStatus.choices),
        "progress": inline_serializer(name="JobProgress", fields={"done": serializers.IntegerField(),
                                                                  "total": serializers.IntegerField()}),
        "result": serializers.JSONField(allow_null=True),
        "error": serializers.CharField(allow_null=True),
        "counts": serializers.DictField(),
        "created_at": serializers.DateTimeField(),
        "started_at": serializers.DateTimeField(allow_null=True),
        "finished_at": serializers.DateTimeField(allow_null=True),
    },
)

JobAcceptedSerializer = inline_serializer(name="JobAccepted", fields={"job_id": serializers.UUIDField()})


class JobView(APIView):
    @extend_schema(responses={200: JobSerializer}, summary="A background job's status, progress and result")
    def get(self, request, job_id: str):
        run = get_visible(runs_visible_to(request.user), pk=_job_id(job_id))
        return Response(run_as_dict(run))
