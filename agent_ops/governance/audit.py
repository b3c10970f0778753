"""The audit trail: every governed action, recorded once by the runtime's door, as a row chained
to its tenant's previous row by a SHA-256 hash; `verify` walks the chains and names the first
row that does not hold.

A row says who (actor, role, how authenticated, tenant), what (action, resource type and id),
when (`at`, UTC), on which data (`digest`: SHA-256 of the canonical JSON of the request's or
decision's payload, so the payload itself need not be kept) and the outcome (`ok`, `denied`),
with a small `detail` a human reads (the decision, the interrupt it answers, the refusal).
`hash` covers every other field, `prev_hash` included: a row changed, removed or moved breaks
the chain at that row. The newest row of a chain can be removed without a trace inside the
database; an exported chain's last hash, kept elsewhere, is the anchor that catches that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypedDict, Unpack

from pydantic import BaseModel, ConfigDict, Field

from agent_ops.errors import InvalidInput
from agent_ops.governance.identity import Identity, caller
from agent_ops.storage import AuditEntry, AuditRecord, AuditTrail
from agent_ops.types import DEFAULT_TENANT

__all__ = [
    "GENESIS",
    "AuditFilter",
    "Facts",
    "Outcome",
    "answers",
    "Verification",
    "bind_request",
    "canonical",
    "digest",
    "entry",
    "hash_parts",
    "page",
    "pauses",
    "read",
    "record",
    "row_hash",
    "time_text",
    "timestamp",
    "verify",
    "view",
]

GENESIS: Final = "0" * 64
"""The `prev_hash` of a chain's first row."""

Outcome = Literal["ok", "denied", "error"]  # error: a tool call that failed

_HASHED: Final = tuple(f.name for f in fields(AuditRecord) if f.name != "hash")

# The request being served ("POST /threads"), set by the door; None outside a request (a
# worker, a cron firing, the CLI), which is how a row tells `anonymous` from `system`.
_request: ContextVar[str | None] = ContextVar("agent_ops_audit_request", default=None)


def bind_request(method: str | None, path: str | None = None) -> None:
    """Mark the rest of this task as serving the request `method path` (None: no request)."""
    _request.set(None if method is None else f"{method} {path}")


def canonical(value: Any) -> str:
    """The one JSON spelling of `value` that hashes are taken over (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(payload: Any) -> str | None:
    """SHA-256 (hex) of the payload's canonical JSON; None for no payload."""
    if payload is None:
        return None
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def timestamp(moment: datetime) -> str:
    """A time as the trail keeps it: UTC with microseconds, a fixed width so text sorts as time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_text(text: str) -> str | None:
    """An ISO date or time (UTC when it names no zone) as the trail's time text; None when
    `text` is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def row_hash(row: AuditRecord) -> str:
    """The hash a row must carry: SHA-256 of the canonical JSON of all its other fields."""
    body = {name: getattr(row, name) for name in _HASHED}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


# The fields only a chain's head decides, as `hash_parts` leaves them out: how each is spelled
# in the canonical JSON around its value (a hash is hex text, needing no escape).
_HEAD_SPELLING: Final = {"prev_hash": ('"prev_hash":"', GENESIS), "seq": ('"seq":', "0")}


def hash_parts(row: AuditRecord) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """What a database needs to hash `row` once it knows its place in the chain: the canonical
    JSON `row_hash` hashes, cut out around the values of `prev_hash` and `seq`. Returns the two
    field names in the order they come and the three UTF-8 parts around them, so that
    `sha256(parts[0] + v1 + parts[1] + v2 + parts[2])` is `row_hash` of the row holding those
    values, v1 and v2 spelled as canonical JSON spells them (the hash's hex text without
    quotes, the seq's decimal digits)."""
    text = canonical(
        {name: getattr(row, name) for name in _HASHED} | {"seq": 0, "prev_hash": GENESIS}
    )
    cuts = []
    for name, (key, value) in _HEAD_SPELLING.items():
        # A quote inside a string value is escaped, so the key with its colon can only be the
        # top-level field's own.
        if text.count(key) != 1:
            raise AssertionError(f"{key!r} is not once in the canonical row")
        start = text.index(key) + len(key)
        if text[start : start + len(value)] != value:
            raise AssertionError(f"{name} is not spelled as {value!r} in the canonical row")
        cuts.append((start, start + len(value), name))
    cuts.sort()
    (a, b, first), (c, d, second) = cuts
    parts = (text[:a], text[b:c], text[d:])
    return (first, second), tuple(part.encode() for part in parts)


class Facts(TypedDict, total=False):
    """What a row says besides its action and resource (see `entry`)."""

    payload: Any
    detail: Mapping[str, Any] | None
    outcome: Outcome
    tenant: str | None
    identity: Identity | None
    actor: str | None


async def record(
    storage: AuditTrail,
    action: str,
    resource_type: str,
    resource_id: str | None,
    **facts: Unpack[Facts],
) -> AuditRecord:
    """Append one row to the trail of `tenant` (default: the caller's, else the default tenant),
    in a transaction of its own; `entry` names the arguments. An action that is itself a state
    change passes `entry(...)` to it instead, so the two commit together."""
    row = entry(action, resource_type, resource_id, **facts)
    return await storage.append_audit(row)


def entry(
    action: str, resource_type: str, resource_id: str | None, **given: Unpack[Facts]
) -> AuditEntry:
    """Return the row `action` on `resource_type`/`resource_id` makes, ready to be chained.

    The actor is `identity` (default: the caller of the request being served); without one it is
    `actor` if given, `anonymous` inside a request (authentication off) and `system` outside one.
    Who and when are taken now; the chain's place and hash when the row is appended. The
    `payload` is kept as its digest, `detail` as written, `outcome` is `ok` unless given.
    """
    identity, actor, detail = given.get("identity"), given.get("actor"), given.get("detail")
    who = identity if identity is not None else caller()
    request = _request.get()
    via: str | None
    if who is not None:
        name, role, via = who.subject, who.role, who.via
    else:
        name, role, via = actor or ("anonymous" if request else "system"), None, None
        if actor is not None and actor.startswith("cli:"):
            via = "cli"
    facts = dict(detail or {})
    if who is not None and who.display_name and who.display_name != who.subject:
        # A key's or token's name ("maria"): what an auditor reads beside the key id.
        facts.setdefault("actor_name", who.display_name)
    if request is not None:
        facts.setdefault("request", request)
    chain = given.get("tenant") or (who.tenant if who is not None else DEFAULT_TENANT)
    unsealed = AuditRecord(
        tenant_id=chain,
        seq=0,
        at=timestamp(datetime.now(UTC)),
        actor=name,
        actor_role=role,
        via=via,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=given.get("outcome", "ok"),
        digest=digest(given.get("payload")),
        detail=canonical(facts),
        prev_hash=GENESIS,
        hash="",
    )

    def seal(seq: int, prev_hash: str) -> AuditRecord:
        row = replace(unsealed, seq=seq, prev_hash=prev_hash)
        return replace(row, hash=row_hash(row))

    return AuditEntry(chain, seal, hash_parts)


async def read(
    storage: AuditTrail, *, page: int = 500, **filters: Any
) -> AsyncIterator[AuditRecord]:
    """Every row matching `filters` (`AuditTrail.read_audit`'s), in chain order, read by pages."""
    after: tuple[str, int] | None = None
    while True:
        rows = await storage.read_audit(**filters, after=after, limit=page)
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = (rows[-1].tenant_id, rows[-1].seq)


@dataclass(frozen=True, slots=True)
class Verification:
    """What `verify` found: how many rows and chains it checked, and the first broken row."""

    rows: int
    tenants: int
    broken: AuditRecord | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken is None:
            return f"audit trail intact: {self.rows} records in {self.tenants} tenant chain(s)"
        b = self.broken
        return (
            f"audit trail broken at tenant {b.tenant_id!r} record {b.seq} "
            f"({b.action} {b.resource_type} {b.resource_id or '-'} at {b.at}): {self.reason}"
        )


async def verify(storage: AuditTrail, *, tenant: str | None = None) -> Verification:
    """Recompute every chain (or one tenant's); stop at the first row whose hash, link to the
    previous row or sequence number does not hold."""
    rows = 0
    tenants = 0
    current: str | None = None
    expected_seq = 1
    prev_hash = GENESIS
    async for row in read(storage, tenant_id=tenant):
        if row.tenant_id != current:
            current, expected_seq, prev_hash = row.tenant_id, 1, GENESIS
            tenants += 1
        rows += 1
        reason = None
        if row.seq != expected_seq:
            reason = (
                f"sequence {row.seq} where {expected_seq} was expected "
                f"(record {expected_seq} is missing)"
            )
        elif row.prev_hash != prev_hash:
            reason = (
                f"its prev_hash {row.prev_hash[:12]}... is not the hash of record "
                f"{row.seq - 1} ({prev_hash[:12]}...): the record before it was changed"
            )
        elif row.hash != row_hash(row):
            reason = "its contents do not match its hash: it was changed after it was written"
        if reason is not None:
            return Verification(rows, tenants, row, reason)
        expected_seq, prev_hash = row.seq + 1, row.hash
    return Verification(rows, tenants)


def answers(interrupts: Any, command: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a resume answers, for its row: the ids of the interrupts pending on the thread, and
    the decision (the answer's `type`, `decision` or `action`, and a `response`'s text)."""
    pending = [
        item["id"]
        for items in (interrupts or {}).values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict) and item.get("id")
    ]
    answer: Any = (command or {}).get("resume")
    if isinstance(answer, list) and answer:
        answer = answer[0]  # agent-inbox sends a list holding one answer
    if isinstance(answer, dict) and answer and not {"type", "decision", "action"} & set(answer):
        first = next(iter(answer.values()))
        answer = first if isinstance(first, dict) else answer  # {interrupt id: answer}
    facts: dict[str, Any] = {"interrupts": pending, "decision": None}
    if isinstance(answer, dict):
        for key in ("type", "decision", "action"):
            if isinstance(answer.get(key), str):
                facts["decision"] = answer[key]
                break
        if isinstance(answer.get("args"), str):
            facts["reason"] = answer["args"]
        elif isinstance(answer.get("reason"), str):
            facts["reason"] = answer["reason"]
    elif isinstance(answer, str | bool | int | float):
        facts["decision"] = str(answer)
    return facts


def pauses(interrupts: Any) -> dict[str, Any]:
    """What a run that paused waits for, for its row: the interrupts' ids (the ones a resume's
    row names) and the actions they ask a person to decide, in either human-in-the-loop format
    (agent-inbox's `action_request`, LangChain's `action_requests`)."""
    ids: list[str] = []
    asks: list[str] = []
    for items in (interrupts or {}).values():
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            if item.get("id"):
                ids.append(item["id"])
            value = item.get("value")
            for request in value if isinstance(value, list) else [value]:
                if not isinstance(request, dict):
                    continue
                named = [request.get("action_request")] + list(request.get("action_requests") or [])
                for action in named:
                    if isinstance(action, dict):
                        name = action.get("action") or action.get("name")
                        if isinstance(name, str):
                            asks.append(name)
    facts: dict[str, Any] = {"interrupts": ids}
    if asks:
        facts["asks"] = asks
    return facts


def view(row: AuditRecord) -> dict[str, Any]:
    """A row as the API and `audit export` show it (`detail` as an object)."""
    out: dict[str, Any] = {"tenant": row.tenant_id}
    out |= {f.name: getattr(row, f.name) for f in fields(AuditRecord) if f.name != "tenant_id"}
    out["detail"] = json.loads(row.detail)
    return out


class AuditFilter(BaseModel):
    """Which page of the trail a reader asks for: exact values of four columns, the first time
    (`since`, an ISO date or time), the cursor of the previous page and the page's size. Read
    once from the `GET /audit` query and handed through the runtime as it is."""

    model_config = ConfigDict(frozen=True)

    action: str | None = None
    actor: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: str | None = None
    after: str | None = None
    limit: int = Field(50, ge=1, le=500)


# The filters compared with a column as given (`since` and `after` are read first).
_EXACT: Final = {"action", "actor", "resource_type", "resource_id"}


async def page(
    storage: AuditTrail, wanted: AuditFilter, *, tenant: str | None
) -> tuple[list[AuditRecord], str | None]:
    """One page of the trail in chain order from `since`, and the cursor of the next
    (`<tenant>/<seq>` of the page's last row; None when this page is the last)."""
    since = None
    if wanted.since is not None:
        since = time_text(wanted.since)
        if since is None:
            raise InvalidInput(f"since {wanted.since!r} is not an ISO date or time")
    position = None
    if wanted.after is not None:
        name, _, seq = wanted.after.rpartition("/")
        if not name or not seq.isdigit():
            raise InvalidInput(
                f"after {wanted.after!r} is not a cursor <tenant>/<seq> from a previous page"
            )
        position = (name, int(seq))
    rows = await storage.read_audit(
        tenant_id=tenant,
        since=since,
        after=position,
        limit=wanted.limit + 1,
        **wanted.model_dump(include=_EXACT),
    )
    more = len(rows) > wanted.limit
    rows = rows[: wanted.limit]
    return rows, f"{rows[-1].tenant_id}/{rows[-1].seq}" if more else None
