"""Chain verification that ops start from the web ("verify now"), and its remembered result.

:func:`audit.selectors.audit_verify` answers whether every hash chain is intact, but keeps no
record. Ops need to see *when* the log last verified and what it found, so the last result is
kept here, in the default cache (no model: the audit app takes no new migration for this), with
a long time to live. It is therefore per cache: with Redis (production) every web process and
worker shares it; with the local-memory cache (dev without Redis) each process has its own, and
a restart forgets it. Nothing else depends on it: it is a convenience, the chain is the evidence.

A verification runs as a Celery task (``audit.tasks.verify_chain``) so that a long one (millions
of events) does not hold a web request; in eager mode (dev, tests) it runs at once. Only one
runs at a time: a cache entry with the task's time limit as its expiry marks it running, so a
worker that dies mid-run cannot block the next one for longer than that.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .chain import VerifyResult
from .selectors import audit_verify

LAST_KEY = "audit:verification:last"
RUNNING_KEY = "audit:verification:running"
LAST_TTL = 400 * 24 * 3600  # over a year: the last result stays until the next verification replaces it
TIME_LIMIT = 60 * 60  # seconds a verification may take (the task's hard limit; the running mark's expiry)
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Verification:
    """One finished verification: what it checked and, if the log does not verify, what is broken."""

    ok: bool
    checked: int
    first_bad_event: int | None
    problems: list[str]
    started_at: datetime
    finished_at: datetime
    requested_by: str
    error: str = ""  # the verification itself failed (e.g. the database was unreachable)

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "ok" if self.ok else "broken"

    @property
    def seconds(self) -> float:
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    @property
    def problem_descriptions(self) -> list[str]:
        """The problems in the reader's language (the verifier words them in English)."""
        return [describe_problem(p) for p in self.problems]

    def to_cache(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        return data

    @classmethod
    def from_result(cls, result: VerifyResult, *, started_at: datetime, finished_at: datetime,
                    requested_by: str) -> Verification:
        return cls(ok=result.ok, checked=result.checked, first_bad_event=result.first_bad_event,
                   problems=list(result.problems[:MAX_PROBLEMS]), started_at=started_at, finished_at=finished_at,
                   requested_by=requested_by)

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Verification | None:
        try:
            return cls(
                ok=bool(data["ok"]), checked=int(data["checked"]),
                first_bad_event=data["first_bad_event"], problems=list(data.get("problems") or []),
                started_at=parse_datetime(data["started_at"]), finished_at=parse_datetime(data["finished_at"]),
                requested_by=str(data.get("requested_by", "")), error=str(data.get("error", "")),
            )
        except (KeyError, TypeError, ValueError):  # an entry of an older shape: as if there were none
            return None


@dataclass(frozen=True)
class RunningVerification:
    started_at: datetime
    requested_by: str


def last_verification() -> Verification | None:
    data = cache.get(LAST_KEY)
    return Verification.from_cache(data) if isinstance(data, dict) else None


def running_verification() -> RunningVerification | None:
    data = cache.get(RUNNING_KEY)
    if not isinstance(data, dict):
        return None
    started = parse_datetime(str(data.get("started_at", "")))
    if started is None:
        return None
    return RunningVerification(started_at=started, requested_by=str(data.get("requested_by", "")))


def mark_running(requested_by: str) -> bool:
    """Claim the one verification slot; ``False`` if a verification is already running."""
    return cache.add(RUNNING_KEY, {"started_at": timezone.now().isoformat(), "requested_by": requested_by},
                     timeout=TIME_LIMIT)


def clear_running() -> None:
    cache.delete(RUNNING_KEY)


def verify_and_remember(*, requested_by: str) -> Verification:
    """Verify every chain now and keep the result as the last verification."""
    started_at, clock = timezone.now(), time.monotonic()
    try:
        result = audit_verify()
    except Exception as exc:
        finished = started_at + _elapsed(clock)
        remember(Verification(ok=False, checked=0, first_bad_event=None, problems=[], started_at=started_at,
                              finished_at=finished, requested_by=requested_by,
                              error=f"{type(exc).__name__}"))
        raise
    verification = Verification.from_result(result, started_at=started_at, finished_at=started_at + _elapsed(clock),
                                             requested_by=requested_by)
    remember(verification)
    return verification


def remember(verification: Verification) -> None:
    cache.set(LAST_KEY, verification.to_cache(), timeout=LAST_TTL)


def _elapsed(clock: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - clock)


# The verifier's sentences (audit/chain.py), recognised to be said again in the reader's language.
_STREAM = r"stream (?P<stream>\S+): "
_WHERE = r"(?:event (?P<event>\d+) \(seq (?P<seq>\d+)\)|seq (?P<seq_only>\d+))"
_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(_STREAM + r"event (?P<event>\d+) has seq (?P<seq>\d+) where seq (?P<expected>\d+) was expected"),
     "sequence"),
    (re.compile(_STREAM + r"event (?P<event>\d+) \(seq (?P<seq>\d+)\) does not follow its predecessor"), "link"),
    (re.compile(_STREAM + r"event (?P<event>\d+) \(seq (?P<seq>\d+)\) was altered"), "hash"),
    (re.compile(_STREAM + r"event (?P<event>\d+) belongs to a stream that has no head"), "orphan"),
    (re.compile(_STREAM + r"the chain ends at " + _WHERE + r" but the stream head records seq (?P<head>\d+)"),
     "tail_removed"),
    (re.compile(_STREAM + r"the chain goes on to " + _WHERE + r" past the stream head's seq (?P<head>\d+)"),
     "tail_added"),
    (re.compile(_STREAM + r"the chain ends at " + _WHERE + r" but its hash differs"), "tail_replaced"),
]


def describe_problem(problem: str) -> str:
    """One verifier problem in the current language; the original words when it is not recognised."""
    for pattern, kind in _PATTERNS:
        match = pattern.match(problem)
        if match is None:
            continue
        values = {k: v for k, v in match.groupdict().items() if v is not None}
        if "seq_only" in values:
            values["seq"] = values.pop("seq_only")
        return _describe(kind, values)
    return problem


def _describe(kind: str, v: dict[str, str]) -> str:
    if kind == "sequence":
        return _("Stream %(stream)s: event %(event)s has sequence number %(seq)s where %(expected)s was expected: "
                 "an event before it was removed, or events were reordered.") % v
    if kind == "link":
        return _("Stream %(stream)s: event %(event)s (sequence %(seq)s) does not follow its predecessor: "
                 "an event was removed, replaced or reordered.") % v
    if kind == "hash":
        return _("Stream %(stream)s: event %(event)s (sequence %(seq)s) was altered: "
                 "its content does not match its hash.") % v
    if kind == "orphan":
        return _("Stream %(stream)s: event %(event)s belongs to a stream that has no head: "
                 "the stream was removed.") % v
    where = (_("event %(event)s (sequence %(seq)s)") if "event" in v else _("sequence %(seq)s")) % v
    values = {**v, "where": where}
    if kind == "tail_removed":
        return _("Stream %(stream)s: the chain ends at %(where)s but the stream head records sequence %(head)s: "
                 "events at the end were removed.") % values
    if kind == "tail_added":
        return _("Stream %(stream)s: the chain goes on to %(where)s past the stream head's sequence %(head)s: "
                 "events were added outside the recorder.") % values
    return _("Stream %(stream)s: the chain ends at %(where)s but its hash differs from the stream head's: "
             "the last event was replaced.") % values


def start_verification(*, requested_by: str) -> bool:
    """Queue a verification (run at once in eager mode); ``False`` if one is already running.

    Raises what the broker raises when it cannot take the task (the running mark is then cleared).
    """
    if not mark_running(requested_by):
        return False
    from .tasks import verify_chain

    try:
        verify_chain.delay(requested_by)
    except Exception:
        clear_running()
        raise
    return True
