"""The hash chain: what an event's hash covers, and how one stream is checked.

An event's hash is ``sha256(prev_hash + "|" + content)``, where ``content`` is the JSON array of
the fields in :data:`HASH_FIELDS` order exactly as PostgreSQL's ``json_build_array`` prints it:
``", "`` between items, texts as JSON strings (non-ASCII kept as is), integers as digits,
``null`` for nothing, the time as ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"`` (UTC), and before/after as
``jsonb`` prints them (object keys ordered by UTF-8 length, then bytes; ``", "`` and ``": "``
separators). Python (:func:`event_content`) and PostgreSQL (:func:`postgres_hash_sql`) build
the same text, so PostgreSQL recomputes every hash itself when verifying, with no Python per event.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any, Callable, Iterator, Sequence

# A JSON string with non-ASCII characters kept and control characters escaped: the text that
# PostgreSQL's json_build_array and jsonb output produce for a string.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return len(encoded), encoded


@functools.lru_cache(maxsize=4096)
def _object_layout(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """An object's keys in jsonb's order, each with its printed ``"key": `` (objects of one kind
    of event share their keys: the order is worked out once)."""
    return tuple((key, f"{_json_string(key)}: ") for key in sorted(keys, key=_jsonb_key_order))


def canonical_json(value: Any) -> str:
    """``value`` as PostgreSQL prints it once stored as ``jsonb``."""
    kind = type(value)  # the usual types first; subclasses below
    if kind is str:
        return _json_string(value)
    if kind is dict:
        return "{" + ", ".join([prefix + canonical_json(value[key]) for key, prefix in _object_layout(tuple(value))]) + "}"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ", ".join([canonical_json(item) for item in value]) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join([prefix + canonical_json(value[key]) for key, prefix in _object_layout(tuple(value))]) + "}"
    raise TypeError(
        f"audit values hold only JSON strings, integers, booleans, null, lists and objects, not {type(value).__name__}"
    )


def _integer(value: int | None) -> str:
    return "null" if value is None else str(value)


def _time(value: datetime) -> str:
    return _json_string(canonical_time(value))


TEXT, INTEGER, TIME, JSON = "text", "integer", "time", "json"
HASHED: tuple[tuple[str, str], ...] = (
    ("stream", TEXT), ("seq", INTEGER), ("at", TIME), ("actor_user_id", INTEGER), ("actor", TEXT),
    ("source", TEXT), ("request_id", TEXT), ("ip", TEXT), ("object_type", TEXT), ("object_id", TEXT),
    ("brand_id", INTEGER), ("seller_id", TEXT), ("action", TEXT), ("before", JSON), ("after", JSON), ("reason", TEXT),
)
HASH_FIELDS: tuple[str, ...] = tuple(name for name, _ in HASHED)
_SEQ = HASH_FIELDS.index("seq")

_PYTHON_RENDER: dict[str, Callable[[Any], str]] = {
    TEXT: _json_string, INTEGER: _integer, TIME: _time, JSON: canonical_json,
}
_RENDERERS = tuple(_PYTHON_RENDER[kind] for _, kind in HASHED)
_POSTGRES_TIME = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def event_content(values: Sequence[Any]) -> str:
    """The hashed text of an event whose field values are given in :data:`HASH_FIELDS` order."""
    return "[" + ", ".join([render(value) for render, value in zip(_RENDERERS, values)]) + "]"


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{content}".encode()).hexdigest()


def event_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return chain_hash(prev_hash, event_content([values[name] for name in HASH_FIELDS]))


def postgres_hash_sql(alias: str) -> str:
    """SQL computing the hash of the ``audit_auditevent`` row aliased ``alias``, as :func:`event_hash` does."""
    columns = ", ".join(
        _POSTGRES_TIME.format(f'{alias}."{name}"') if kind == TIME else f'{alias}."{name}"' for name, kind in HASHED
    )
    return f"encode(sha256(convert_to({alias}.prev_hash || '|' || json_build_array({columns})::text, 'UTF8')), 'hex')"


class Problem(IntEnum):
    """What is wrong with an event (the values are what the PostgreSQL verifier returns)."""

    NONE = 0
    SEQUENCE = 1
    LINK = 2
    HASH = 3
    ORPHAN = 4


@dataclass
class VerifyResult:
    ok: bool = True
    checked: int = 0
    first_bad_event: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, event_id: int | None, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)
        if event_id is not None and (self.first_bad_event is None or event_id < self.first_bad_event):
            self.first_bad_event = event_id

    def bad_event(self, stream: str, event_id: int, problem: Problem, *, seq: int, expected_seq: int) -> None:
        messages = {
            Problem.SEQUENCE: f"has seq {seq} where seq {expected_seq} was expected: "
                              "an event before it was removed or events were reordered",
            Problem.LINK: f"(seq {seq}) does not follow its predecessor: an event was removed, replaced or reordered",
            Problem.HASH: f"(seq {seq}) was altered: its content does not match its hash",
            Problem.ORPHAN: "belongs to a stream that has no head: the stream was removed",
        }
        self.fail(event_id, f"stream {stream}: event {event_id} {messages[problem]}")

    def check_tail(
        self, stream: str, *, last_event_id: int | None, last_seq: int, last_hash_matches: bool, head_seq: int
    ) -> None:
        """Compare where the chain ends with what the stream head recorded when it was last written."""
        where = f"seq {last_seq}" if last_event_id is None else f"event {last_event_id} (seq {last_seq})"
        if last_seq < head_seq:
            self.fail(last_event_id, f"stream {stream}: the chain ends at {where} but the stream head records "
                                     f"seq {head_seq}: events at the end were removed")
        elif last_seq > head_seq:
            self.fail(last_event_id, f"stream {stream}: the chain goes on to {where} past the stream head's seq "
                                     f"{head_seq}: events were added outside the recorder")
        elif not last_hash_matches:
            self.fail(last_event_id, f"stream {stream}: the chain ends at {where} but its hash differs from the "
                                     "stream head's: the last event was replaced")


def verify_stream(
    name: str,
    rows: Iterator[tuple],
    *,
    head_seq: int,
    head_hash: str,
    start_seq: int,
    start_hash: str,
    result: VerifyResult,
) -> None:
    """Walk one stream's events in seq order; rows are ``(id, prev_hash, hash, *HASH_FIELDS)``."""
    expected_seq, prev, last_event_id = start_seq + 1, start_hash, None
    for event_id, stored_prev, stored_hash, *values in rows:
        result.checked += 1
        seq = values[_SEQ]
        if seq != expected_seq:
            problem = Problem.SEQUENCE
        elif stored_prev != prev:
            problem = Problem.LINK
        elif chain_hash(prev, event_content(values)) != stored_hash:
            problem = Problem.HASH
        else:
            expected_seq, prev, last_event_id = seq + 1, stored_hash, event_id
            continue
        result.bad_event(name, event_id, problem, seq=seq, expected_seq=expected_seq)
        result.checked += sum(1 for _ in rows)  # read, as the PostgreSQL verifier reads them all
        return
    result.check_tail(
        name, last_event_id=last_event_id, last_seq=expected_seq - 1, last_hash_matches=prev == head_hash,
        head_seq=head_seq,
    )
