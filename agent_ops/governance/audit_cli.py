"""`agent-ops audit verify|export`: check the audit trail's hash chains, write it for auditors.

`verify` exits 0 when every chain holds, 1 naming the first broken record, 2 on bad input;
`export` writes one JSON object (or CSV row) per record in chain order.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from agent_ops.errors import AgentOpsError, InvalidInput
from agent_ops.governance import audit
from agent_ops.governance.keys import parse_duration
from agent_ops.settings import Settings
from agent_ops.storage import AuditRecord, create_storage

__all__ = ["add_parser", "parse_since", "run"]


def add_parser(commands: Any) -> None:
    """Add `audit verify` and `audit export` to the `agent-ops` command's subparsers."""
    group = commands.add_parser("audit", help="the hash-chained audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    verify = group.add_parser(
        "verify", help="recompute every chain; exit 1 naming the first broken record"
    )
    verify.add_argument("--tenant", help="check one tenant's chain only")
    export = group.add_parser("export", help="write the records, oldest first, per tenant")
    export.add_argument("--since", help="an ISO date or time (UTC if no zone), or an age: 24h, 7d")
    export.add_argument("--tenant", help="one tenant's records only")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")


def parse_since(text: str, *, now: datetime | None = None) -> str:
    """`--since` as the trail's time text: an ISO date or time, or an age before now."""
    try:
        moment = (now or datetime.now(UTC)) - parse_duration(text)
    except InvalidInput:
        written = audit.time_text(text)
        if written is None:
            raise InvalidInput(
                f"--since {text!r} is neither an ISO date or time (2026-12-01, "
                "2026-12-01T09:00:00+00:00) nor an age (24h, 7d)"
            ) from None
        return written
    return audit.timestamp(moment)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `agent-ops audit ...`; return the exit code."""
    import asyncio

    try:
        return asyncio.run(_run(args, settings))
    except AgentOpsError as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_since(args.since) if getattr(args, "since", None) else None
    storage = create_storage(settings.database_url, pool_size=2)
    await storage.open()
    try:
        if args.audit_command == "verify":
            found = await audit.verify(storage, tenant=args.tenant)
            print(found.describe(), file=sys.stdout if found.ok else sys.stderr)
            return 0 if found.ok else 1
        writer = _Writer(args.format)
        async for row in audit.read(storage, tenant_id=args.tenant, since=since):
            writer.write(row)
        return 0
    finally:
        await storage.close()


class _Writer:
    """Writes records to stdout as JSON lines or CSV (detail as its JSON text)."""

    def __init__(self, form: str) -> None:
        self._csv = None
        if form == "csv":
            self._csv = csv.DictWriter(sys.stdout, fieldnames=_COLUMNS)
            self._csv.writeheader()

    def write(self, row: AuditRecord) -> None:
        if self._csv is not None:
            self._csv.writerow({name: getattr(row, name) for name in _COLUMNS})
        else:
            print(json.dumps(audit.view(row), ensure_ascii=False))


# A CSV row is the record's fields in their order, `detail` as the JSON text the hash covers.
_COLUMNS = [f.name for f in fields(AuditRecord)]
