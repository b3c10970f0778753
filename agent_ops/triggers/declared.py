"""Triggers declared in a file (`AGENT_OPS_TRIGGERS_CONFIG`, YAML or JSON), reconciled into the
store at start-up: each declared trigger is created in the default tenant if missing, or brought
to its declaration (same name), so the file is the truth for the triggers it names; triggers
made through the API are left alone. Several processes starting at once reconcile safely: a
create that loses the race to another process's becomes an update.

```yaml
triggers:
  - name: morning-report
    kind: cron
    assistant_id: ops_report
    schedule: "0 8 * * *"
    timezone: Asia/Hong_Kong
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent_ops.errors import ConfigError, Conflict, InvalidInput
from agent_ops.storage import StoredTrigger
from agent_ops.triggers.service import TriggerService
from agent_ops.triggers.spec import TriggerCreate, TriggerPatch
from agent_ops.types import DEFAULT_TENANT

__all__ = ["load_declared", "reconcile"]


def load_declared(path: Path) -> list[TriggerCreate]:
    """Read and check the file; ConfigError naming the entry and the field that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"triggers config {path}: {exc}") from None
    entries = raw.get("triggers") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or set(raw) - {"triggers"}:
        raise ConfigError(f"triggers config {path}: expected one key, `triggers`, a list")
    declared: list[TriggerCreate] = []
    for n, entry in enumerate(entries):
        where = f"triggers config {path}: triggers[{n}]"
        try:
            body = TriggerCreate.model_validate(entry)
            body.check(body.kind)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise ConfigError(f"{where}: {field}: {first['msg']}") from None
        except InvalidInput as exc:
            raise ConfigError(f"{where}: {exc}") from None
        declared.append(body)
    names = [d.name for d in declared]
    if len(set(names)) != len(names):
        raise ConfigError(f"triggers config {path}: two triggers share a name: {names}")
    return declared


async def reconcile(service: TriggerService, declared: list[TriggerCreate]) -> list[StoredTrigger]:
    """Create or update each declared trigger (default tenant); return them as stored."""
    stored: list[StoredTrigger] = []
    for body in declared:
        try:
            stored.append(await _one(service, body))
        except InvalidInput as exc:  # e.g. an assistant the registry does not have
            raise ConfigError(f"declared trigger {body.name!r}: {exc}") from None
    return stored


async def _one(service: TriggerService, body: TriggerCreate) -> StoredTrigger:
    existing = await _named(service, body.name)
    if existing is None:
        try:
            return await service.create(body)
        except Conflict:  # another process created it a moment ago
            existing = await _named(service, body.name)
            assert existing is not None
    if existing.kind != body.kind:
        raise ConfigError(
            f"declared trigger {body.name!r} is a {body.kind} trigger, but the stored one is a "
            f"{existing.kind} trigger; delete it (DELETE /triggers/{existing.trigger_id}) first"
        )
    fields: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"kind"})
    return await service.update(existing.trigger_id, TriggerPatch.model_validate(fields))


async def _named(service: TriggerService, name: str) -> StoredTrigger | None:
    for trigger in await service.search():
        if trigger.name == name and trigger.tenant_id == DEFAULT_TENANT:
            return trigger
    return None
