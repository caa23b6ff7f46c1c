"""The hash chain: how an event's hash is computed, and how a whole log is verified."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

HASH_FIELDS = (
    "stream", "seq", "at", "actor_user_id", "actor", "source", "request_id", "ip", "object_type", "object_id",
    "brand_id", "seller_id", "action", "before", "after", "reason",
)


def _canonical_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of the event's content."""
    payload = [values[name] if name != "at" else _canonical_time(values["at"]) for name in HASH_FIELDS]
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


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


def verify_stream(
    name: str,
    rows: Iterable[tuple],
    *,
    head_seq: int,
    head_hash: str,
    start_seq: int,
    start_hash: str,
    result: VerifyResult,
) -> None:
    """Walk one stream's events in seq order; rows are ``(id, *HASH_FIELDS, prev_hash, hash)``."""
    expected_seq = start_seq + 1
    prev = start_hash
    for row in rows:
        event_id, values, stored_prev, stored_hash = row[0], dict(zip(HASH_FIELDS, row[1:-2])), row[-2], row[-1]
        result.checked += 1
        if values["seq"] != expected_seq:
            result.fail(event_id, f"stream {name}: event {event_id} has seq {values['seq']}, expected {expected_seq} "
                                  "(an event was removed or reordered)")
            return
        if stored_prev != prev:
            result.fail(event_id, f"stream {name}: event {event_id} does not follow its predecessor "
                                  "(an event was removed or reordered)")
            return
        if event_hash(prev, values) != stored_hash:
            result.fail(event_id, f"stream {name}: event {event_id} was altered (hash mismatch)")
            return
        prev = stored_hash
        expected_seq += 1
    if expected_seq - 1 != head_seq or prev != head_hash:
        result.fail(None, f"stream {name}: the chain ends at seq {expected_seq - 1} but {head_seq} events were "
                          "written (events at the end were removed)")
