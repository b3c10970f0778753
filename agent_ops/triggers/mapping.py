"""From an event to a run: JSON paths into the event, the run input a trigger's mapping builds,
and the thread its business key names.

The event a mapping reads is one JSON document: `{"trigger": {...}, "payload": ..., ...}` (a
webhook's body under `payload` and its headers under `headers`; a cron's due time under `due`;
a threshold's `value` and `rows`). A path is `$.payload.invoice.number` or `$.payload.lines[0]`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from agent_ops.errors import InvalidInput
from agent_ops.types import Json

__all__ = ["build_input", "business_thread_id", "check_path", "check_template", "read_path"]

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Namespace of the thread ids business keys map to (uuid5 of tenant and key): one key, one
# thread, in whichever process and by whichever trigger it arrives.
_THREADS = uuid.UUID("6f1d3c52-8a1e-4b8e-9a57-3f0c2d9e7b41")
_MISSING = object()


def _steps(path: str, field: str) -> list[str | int]:
    if not path.startswith("$"):
        raise InvalidInput(f"{field}: path {path!r} must start with '$'")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise InvalidInput(f"{field}: path {path!r} is not a JSON path like $.payload.id")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return steps


def check_path(path: str, field: str) -> None:
    """Raise InvalidInput naming `field` if `path` is not a JSON path."""
    _steps(path, field)


def read_path(document: Any, path: str, field: str = "path") -> Any:
    """Return the value at `path`; InvalidInput naming the path when the document lacks it."""
    value = document
    for step in _steps(path, field):
        if isinstance(step, int):
            ok = isinstance(value, list) and step < len(value)
            value = value[step] if ok else _MISSING
        else:
            value = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            raise InvalidInput(f"{field}: the event has no {path}")
    return value


def check_template(template: str, field: str) -> None:
    """Raise InvalidInput naming `field` if a `{path}` placeholder of `template` is no path."""
    if not template.strip():
        raise InvalidInput(f"{field} must not be empty")
    for path in _PLACEHOLDER.findall(template):
        check_path(path, field)


def render_key(template: str, event: Json) -> str:
    """Fill each `{$.path}` of a business-key template from the event."""

    def value(match: re.Match[str]) -> str:
        found = read_path(event, match.group(1), "business_key")
        if isinstance(found, dict | list) or found is None:
            raise InvalidInput(f"business_key: {match.group(1)} is not a scalar: {found!r}")
        return str(found)

    return _PLACEHOLDER.sub(value, template)


def business_thread_id(tenant_id: str, key: str) -> str:
    """The thread a business key feeds: the same for every trigger and process of a tenant."""
    return str(uuid.uuid5(_THREADS, f"{tenant_id}\x1f{key}"))


def build_input(mapping: Json | None, event: Json) -> Json:
    """The run input: each mapped field a path's value (a string starting with `$`) or a
    literal; without a mapping, the event's `payload` and `trigger`."""
    if mapping is None:
        return {"payload": event.get("payload"), "trigger": event.get("trigger")}
    return {
        name: read_path(event, spec, f"input_mapping.{name}")
        if isinstance(spec, str) and spec.startswith("$")
        else spec
        for name, spec in mapping.items()
    }
