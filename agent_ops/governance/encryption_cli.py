"""`agent-ops encryption rotate`: re-seal checkpoints and store values under the current key.

Run it after every process has the new `AGENT_OPS_ENCRYPTION_KEY` with the previous key in
`AGENT_OPS_ENCRYPTION_OLD_KEYS`; afterwards the old key can go. Each batch is one transaction
and a row already sealed under the current key is left alone, so an interrupted rotation is
resumed by running it again. Prints one JSON line of counts per table; exit 2 naming the
settings when a value opens under no known key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from agent_ops.errors import AgentOpsError, ConfigError
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from agent_ops.storage.encryption import Keyring

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(commands: Any) -> None:
    """Add `encryption rotate` to the `agent-ops` command's subparsers."""
    group = commands.add_parser(
        "encryption", help="encryption at rest (AGENT_OPS_ENCRYPTION_KEY)"
    ).add_subparsers(dest="encryption_command", required=True)
    rotate = group.add_parser(
        "rotate",
        help="re-seal checkpoints and store values under AGENT_OPS_ENCRYPTION_KEY "
        "(opening old ones with AGENT_OPS_ENCRYPTION_OLD_KEYS); run again to resume",
    )
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `agent-ops encryption ...`; return the exit code."""
    if args.batch < 1:
        print(f"agent-ops: error: --batch {args.batch} must be 1 or more", file=sys.stderr)
        return 2
    try:
        asyncio.run(_rotate(settings, args.batch))
    except AgentOpsError as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2
    return 0


async def _rotate(settings: Settings, batch: int) -> None:
    if settings.checkpoint_key is None:  # checked before the database is opened (and migrated)
        raise ConfigError("cannot re-seal: AGENT_OPS_ENCRYPTION_KEY is not set")
    storage = create_storage(settings.database_url, pool_size=2)
    storage.encrypt_at_rest(Keyring(settings.checkpoint_key, settings.old_keys))
    await storage.open()
    try:
        for table in storage.sealed_tables():
            totals = {"resealed": 0, "sealed": 0, "current": 0, "plain": 0}
            after = None
            while True:
                try:
                    done = await storage.reseal_batch(table, after=after, limit=batch)
                except ConfigError as exc:  # which table, and where a rerun starts over
                    raise ConfigError(f"table {table}, after row {after}: {exc}") from exc
                if done.last is None:
                    break
                after = done.last
                for name in totals:
                    totals[name] += getattr(done, name)
                log.info("encryption rotate: %s up to %s: %s", table, after, totals)
            print(json.dumps({"table": table, **totals}), flush=True)
    finally:
        await storage.close()
