"""`agent-ops triggers list|enable|disable|fire`, and the scheduler a serving process starts.

Each command prints one JSON line per trigger (or per firing); bad input is one error line and
exit status 2. Commands act outside any request, so they see every tenant's triggers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent_ops.errors import AgentOpsError, InvalidInput
from agent_ops.runtime import GraphRegistry, IntakeSource, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import StoredTrigger, create_storage
from agent_ops.triggers.declared import load_declared, reconcile
from agent_ops.triggers.service import QueryRunner, TriggerService
from agent_ops.triggers.spec import TriggerPatch

__all__ = ["QueryRunner", "add_parser", "reconcile_declared", "run", "start_scheduler"]


def add_parser(commands: Any) -> None:
    """Add `triggers` and its subcommands to the `agent-ops` parser."""
    triggers = commands.add_parser("triggers", help="stored triggers (cron, webhook, ...)")
    sub = triggers.add_subparsers(dest="triggers_command", required=True)
    listing = sub.add_parser("list", help="print every trigger, one JSON line each")
    listing.add_argument("--kind", help="only triggers of this kind")
    for name, text in (("enable", "start firing"), ("disable", "stop firing")):
        change = sub.add_parser(name, help=f"{text} (by id)")
        change.add_argument("trigger_id")
        change.add_argument("--config", help="langgraph.json (default: ./langgraph.json)")
    fire = sub.add_parser("fire", help="fire a trigger now; prints its run")
    fire.add_argument("trigger_id")
    fire.add_argument("--config", help="langgraph.json (default: ./langgraph.json)")
    fire.add_argument("--payload", help="JSON payload of the event (default: null)")


async def reconcile_declared(runtime: Runtime, settings: Settings) -> None:
    """Bring the triggers declared in `AGENT_OPS_TRIGGERS_CONFIG` into the store. When the file
    or a trigger in it is wrong, stop the (started) runtime and raise a ConfigError naming the
    entry: start-up ends there."""
    if settings.triggers_config is None:
        return
    try:
        declared = load_declared(settings.triggers_config)
        await reconcile(TriggerService(runtime), declared)
    except BaseException:
        await runtime.stop()
        raise


def start_scheduler(
    runtime: Runtime,
    settings: Settings,
    queries: QueryRunner | None,
    sources: Mapping[str, IntakeSource] | None = None,
) -> None:
    """In a process with workers, fire due cron, SQL-threshold, e-mail and folder triggers
    (every process may: each due time is claimed by one)."""
    if runtime.workers is None:
        return
    service = TriggerService(
        runtime,
        queries=queries,
        sources=sources,
        misfire_grace=settings.trigger_misfire_grace_seconds,
    )
    runtime.run_beside(
        service.run_forever(settings.trigger_tick_seconds), name="agent-ops triggers"
    )


def _view(t: StoredTrigger) -> dict[str, Any]:
    return {
        "trigger_id": t.trigger_id,
        "tenant": t.tenant_id,
        "name": t.name,
        "kind": t.kind,
        "assistant_id": t.assistant_id,
        "enabled": t.enabled,
        "next_due": t.next_due.isoformat() if t.next_due else None,
        "last_fired_at": t.last_fired_at.isoformat() if t.last_fired_at else None,
        "last_error": t.last_error,
    }


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `triggers` subcommand; return the exit status."""
    try:
        if args.triggers_command == "fire":
            return await _fire(args, settings)
        storage = create_storage(settings.database_url, pool_size=2)
        await storage.open()
        try:
            if args.triggers_command == "list":
                for t in await storage.list_triggers(kind=args.kind):
                    print(json.dumps(_view(t)))
                return 0
        finally:
            await storage.close()
        runtime = _runtime(args, settings)
        await runtime.start()
        try:
            enabled = args.triggers_command == "enable"
            service = TriggerService(runtime)
            changed = await service.update(args.trigger_id, TriggerPatch(enabled=enabled))
        finally:
            await runtime.stop()
        print(json.dumps(_view(changed)))
        return 0
    except (AgentOpsError, ValueError) as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2


def _runtime(args: argparse.Namespace, settings: Settings) -> Runtime:
    """A runtime without workers: the run a command queues is executed by a serving process."""
    if getattr(args, "config", None):
        settings = settings.model_copy(update={"config": Path(args.config)})
    registry = GraphRegistry.load(settings.config)
    return Runtime(
        settings, create_storage(settings.database_url, pool_size=2), registry, workers=0
    )


async def _fire(args: argparse.Namespace, settings: Settings) -> int:
    try:
        payload = json.loads(args.payload) if args.payload else None
    except ValueError as exc:
        raise InvalidInput(f"--payload is not JSON: {exc}") from None
    runtime = _runtime(args, settings)
    await runtime.start()
    try:
        fired = await TriggerService(runtime).fire_now(args.trigger_id, payload)
    finally:
        await runtime.stop()
    print(
        json.dumps(
            {
                "trigger_id": args.trigger_id,
                "run_id": fired.event.run_id,
                "thread_id": fired.event.thread_id,
                "event_key": fired.event.event_key,
            }
        )
    )
    return 0
