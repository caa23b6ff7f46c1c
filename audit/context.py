"""Who is acting, from where: carried into every audit event.

The web/API middleware binds the request's id and IP; a Celery task binds the id of the request
that queued it (``config.celery``); tasks and commands build their own actor.
"""
from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, replace
from typing import Any

SOURCES = ("web", "api", "worker", "command")

_request_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("audit_request_context", default={})


@dataclass(frozen=True)
class Actor:
    """The author of a change: a user (web/api/command) or a task (worker)."""

    user: Any = None  # django.contrib.auth User or None
    name: str = ""
    source: str = "web"
    request_id: str = ""
    ip: str | None = None
    # Only tasks and management commands without a user act as the system itself; an
    # anonymous web request is never a system actor.
    system: bool = False

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")
        if not self.name:
            object.__setattr__(self, "name", self.user.get_username() if self.user is not None else "system")

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def is_system(self) -> bool:
        return self.system and self.user is None

    @classmethod
    def for_user(cls, user: Any, *, source: str = "web", request_id: str = "", ip: str | None = None) -> "Actor":
        ctx = _request_context.get()
        return cls(
            user=user,
            source=source,
            request_id=request_id or ctx.get("request_id", ""),
            ip=ip if ip is not None else ctx.get("ip"),
        )

    @classmethod
    def for_request(cls, request: Any, *, source: str | None = None) -> "Actor":
        user = request.user if getattr(request, "user", None) is not None and request.user.is_authenticated else None
        return cls(
            user=user,
            name="" if user else "anonymous",
            source=source or ("api" if request.path.startswith("/api/") else "web"),
            request_id=getattr(request, "request_id", "") or "",
            ip=getattr(request, "client_ip", None),
        )

    @classmethod
    def task(cls, task_name: str, task_id: str = "") -> "Actor":
        """A task acting as the system. Its events carry the id bound for the task — the id of
        the request or command that queued it (see ``config.celery``) — else the task's own."""
        request_id = current_request_id() or task_id or uuid.uuid4().hex
        return cls(user=None, name=task_name, source="worker", request_id=request_id, system=True)

    @classmethod
    def command(cls, command_name: str, user: Any = None) -> "Actor":
        return cls(user=user, name="" if user else f"manage.py {command_name}", source="command",
                   request_id=uuid.uuid4().hex, system=user is None)

    def with_source(self, source: str) -> "Actor":
        return replace(self, source=source)


def bind_request(request_id: str, ip: str | None) -> contextvars.Token:
    return _request_context.set({"request_id": request_id, "ip": ip})


def unbind_request(token: contextvars.Token) -> None:
    _request_context.reset(token)


def current_request_id() -> str:
    return _request_context.get().get("request_id", "")
