"""Server-side functions: a state change that must lock before it reads, in one round trip.

Queuing and finishing a run lock the thread first and then run one statement whose snapshot
must see every change committed before the lock was granted. From the client that takes a
transaction of four statements (BEGIN, the lock, the statement, COMMIT), each a round trip
with its own Python work in psycopg. A PL/pgSQL function does the same in one call: in READ
COMMITTED each statement of a volatile function takes a fresh snapshot, so the statement after
`PERFORM ... FOR NO KEY UPDATE` sees what the lock waited for, and the call in autocommit is the
transaction. PL/pgSQL plans its statements once per connection, as a prepared statement would.

A routine's name carries a digest of its text, so servers of two versions sharing a database
(a rolling upgrade) each call their own, and installing one is idempotent. `install` runs under
the migration lock at every start.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow

_NAMED = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Routine:
    """A PL/pgSQL function and how to call it."""

    name: str
    definition: str
    call: str
    """`SELECT ... FROM name(%s::type, ...) AS q`, its parameters in the order of the
    function's argument types."""


def positional(sql: str, names: tuple[str, ...] = ()) -> str:
    """`sql` with its psycopg placeholders as a function's `$n`: `%s` numbered in order, or
    `%(name)s` by the place of `name` in `names`."""
    if names:
        return _NAMED.sub(lambda m: f"${names.index(m.group(1)) + 1}", sql)
    counter = itertools.count(1)
    return re.sub(r"%s", lambda _: f"${next(counter)}", sql)


def routine(stem: str, args: tuple[str, ...], returns: str, body: str, select: str) -> Routine:
    """A routine `agent_ops_<stem>_<digest>` taking `args` (types), returning `returns` (a
    TABLE clause) with `body` (a PL/pgSQL block, `$n` for the arguments); `select` is what the
    call reads from its row `q`."""
    text = (
        f"({', '.join(args)}) RETURNS {returns} LANGUAGE plpgsql VOLATILE"
        f" AS $routine$\n{body}\n$routine$"
    )
    name = f"agent_ops_{stem}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    placeholders = ", ".join(f"%s::{arg}" for arg in args)
    return Routine(
        name,
        f"CREATE OR REPLACE FUNCTION {name}{text}",
        f"SELECT {select} FROM {name}({placeholders}) AS q",
    )


async def install(conn: AsyncConnection[DictRow], routines: tuple[Routine, ...]) -> None:
    """Create (or keep) each routine; run inside the migration lock's transaction."""
    for each in routines:
        await conn.execute(each.definition.encode())
