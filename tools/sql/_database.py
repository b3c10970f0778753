"""The seam between the SQL tools and a database: one statement in, a JSON result out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agent_ops.errors import ConnectorRejected, ConnectorUnavailable


@dataclass(frozen=True)
class Statement:
    """One call: the query's name (for messages), its SQL in the driver's spelling, its values."""

    name: str
    sql: str
    params: Mapping[str, Any] | None
    timeout: float
    max_rows: int


@dataclass(frozen=True)
class Ledger:
    """Where a write's idempotency key and result are kept, in the write's own transaction."""

    table: str
    key: str


class Database(Protocol):
    """A PostgreSQL or SQLite database; each call opens and closes its own connection.

    Errors: TransientFailure (`sent=False` when the call had no effect: no connection, a
    deadlock or busy database rolled back), ConnectorUnavailable (timed out),
    ConnectorRejected (the database refused the statement).
    """

    system: str
    where: str  # the database without credentials, for messages

    async def read(self, statement: Statement) -> dict[str, Any]:
        """Run `statement` in a read-only transaction the database enforces."""
        ...

    async def write(self, statement: Statement, ledger: Ledger | None) -> dict[str, Any]:
        """Run `statement` and commit; with a ledger, a known key returns the stored result."""
        ...


def replayed(stored: str | None, statement: Statement, ledger: Ledger) -> dict[str, Any]:
    """The first call's result for a repeated key, marked `replayed`."""
    if stored is None:  # the row is written with its result in one transaction; never empty
        raise RuntimeError(f"ledger row {ledger.key!r} of {statement.name!r} has no result")
    result: dict[str, Any] = json.loads(stored)
    return {**result, "replayed": True}


def rejected(db: Database, statement: Statement, text: str) -> ConnectorRejected:
    """The database refused the statement; `text` says why, in its words."""
    return ConnectorRejected(
        f"{db.system} query {statement.name!r} {text}", system=db.system, url=db.where, status=422
    )


def timed_out(db: Database, statement: Statement, how: str) -> ConnectorUnavailable:
    """The statement ran past its timeout and the database stopped it."""
    return ConnectorUnavailable(
        f"{db.system} query {statement.name!r} did not finish within its timeout of "
        f"{statement.timeout:g}s and was {how}",
        system=db.system,
        url=db.where,
    )
