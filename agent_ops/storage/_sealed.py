"""Re-sealing written once above both backends (`agent-ops encryption rotate`): the SELECT of a
batch, what each row read needs, and the conditional UPDATE that rewrites it. A backend names
its tables (the checkpointers' differ) and runs the statements in its own dialect."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from agent_ops.storage._records import Row
from agent_ops.storage.encryption import Keyring, Resealed

__all__ = ["Kind", "SealedTable"]

Kind = Literal["checkpoint", "value", "event"]
Encode = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class SealedTable:
    """A table holding sealed values: its primary key columns, what it seals and the sealed
    column; a checkpoint's is typed by its `type` column, "<kind>+aes" when sealed."""

    key: tuple[str, ...]
    kind: Kind
    column: str

    def select(self, table: str, mark: str, after: tuple[Any, ...] | None) -> str:
        """The next batch in key order after `after` (params: *after, limit)."""
        names = ", ".join(self.key)
        marks = ", ".join(mark for _ in self.key)
        where = f" WHERE ({names}) > ({marks})" if after else ""
        typed = "type" if self.kind == "checkpoint" else "NULL"
        return (
            f"SELECT {names}, {typed} AS _type, {self.column} AS _sealed FROM {table}"
            f"{where} ORDER BY {names} LIMIT {mark}"
        )

    def read(self, table: str, rows: Iterable[Row], keys: Keyring, json: Encode) -> Resealed:
        """Count the rows and queue those to rewrite; `json` reads a stored value's column."""
        batch = Resealed(table)
        for row in rows:
            key = tuple(row[c] for c in self.key)
            if self.kind == "event":
                batch.reseal_bytes(keys, key, bytes(row["_sealed"]))
            elif self.kind == "value":
                batch.reseal_value(keys, key, json(row["_sealed"]), row["_sealed"])
            elif row["_type"] not in (None, "empty"):  # "empty": a channel without a value
                batch.reseal_blob(keys, key, row["_type"], bytes(row["_sealed"]))
            else:
                batch.last = key
        return batch

    def update(self, table: str, mark: str) -> str:
        """The rewrite of one row; a value or checkpoint row changed since it was read keeps
        its newer content (a value overwritten, a pending write replaced)."""
        match = " AND ".join(f"{c} = {mark}" for c in self.key)
        sealed = self.column
        if self.kind == "event":
            return f"UPDATE {table} SET {sealed} = {mark} WHERE {match}"
        if self.kind == "value":
            return f"UPDATE {table} SET {sealed} = {mark} WHERE {match} AND {sealed} = {mark}"
        return (
            f"UPDATE {table} SET type = {mark}, {sealed} = {mark} WHERE {match}"
            f" AND type = {mark} AND {sealed} = {mark}"
        )

    def update_params(
        self, batch: Resealed, json: Encode, as_read: Encode
    ) -> list[tuple[Any, ...]]:
        """The params of `update` for each row the batch rewrites: `json` writes a store
        value, `as_read` gives back the value as read for the comparison."""
        if self.kind == "event":
            return [(new, *key) for key, new, _ in batch.updates]
        if self.kind == "value":
            return [(json(new), *key, as_read(old)) for key, new, old in batch.updates]
        return [(*new, *key, *old) for key, new, old in batch.updates]
