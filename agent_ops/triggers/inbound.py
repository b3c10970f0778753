"""Inbound webhooks: the signature (Standard Webhooks, via the `standardwebhooks` library), the
event's idempotency key, and the payload's JSON Schema.

Standard Webhooks signs `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 under the
trigger's secret (`whsec_` + base64) and sends it as `webhook-signature: v1,<base64>`; the
library refuses timestamps more than 5 minutes off (the replay window), and the idempotency
ledger refuses a replay inside it: a redelivered event finds its first run and starts nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from agent_ops.errors import InvalidInput, Unauthenticated
from agent_ops.storage import StoredTrigger
from agent_ops.triggers.mapping import read_path

__all__ = ["event_key", "new_secret", "parse_payload", "verify"]


def new_secret() -> str:
    """A fresh signing secret in Standard Webhooks' form: `whsec_` + base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verify(trigger: StoredTrigger, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise Unauthenticated unless the body carries a valid, fresh signature of the trigger."""
    if not trigger.secret:
        raise Unauthenticated(f"trigger {trigger.trigger_id} has no signing secret")
    try:
        Webhook(trigger.secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as exc:
        raise Unauthenticated(f"webhook signature refused: {exc}") from None


def parse_payload(trigger: StoredTrigger, body: bytes) -> Any:
    """The body as JSON, checked against the trigger's payload schema; InvalidInput naming the
    field that fails it."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(f"body: not JSON ({exc})") from None
    schema = trigger.spec.get("payload_schema")
    if schema is not None:
        try:
            errors = sorted(
                Draft202012Validator(schema).iter_errors(payload), key=lambda e: list(e.path)
            )
        except Unresolvable as exc:  # a $ref to a document we do not fetch
            raise InvalidInput(f"payload_schema: cannot resolve {exc}") from None
        if errors:
            first = errors[0]
            where = "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path
            )
            raise InvalidInput(f"payload field $ {where}: {first.message}".replace("$ ", "$"))
    return payload


def event_key(trigger: StoredTrigger, payload: Any, headers: Mapping[str, str]) -> str:
    """The event's idempotency key: the `webhook-id` header (default), another header, or a
    JSON path into the body, as the trigger says."""
    how = str(trigger.spec.get("idempotency") or "webhook-id")
    lowered = {k.lower(): v for k, v in headers.items()}
    if how.startswith("$"):
        value = read_path(payload, how, "idempotency")  # a path into the body itself
        if isinstance(value, dict | list) or value is None or value == "":
            raise InvalidInput(f"idempotency: {how} is not a usable key: {value!r}")
        return f"body:{value}"
    header = how.removeprefix("header:").strip().lower()
    value = lowered.get(header)
    if not value:
        raise InvalidInput(f"idempotency: header {header!r} is missing")
    return f"{header}:{value}"
