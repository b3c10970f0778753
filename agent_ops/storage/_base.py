"""What every concept's `Storage` part stands on (`Base`): the backend's SQL modules, its
transaction runner `_tx`, the checkpointer and the keys values are sealed under.

Each part's method fills in its defaults, then runs one transaction of the backend's SQL function
of the same name (`sqlite/<concept>.py` or `postgres/<concept>.py`); the backend's `_tx` runs it
and hands the wake-ups it raised to listeners once it has committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent_ops.errors import ConfigError
from agent_ops.storage import _policy
from agent_ops.storage._records import Columns, Row
from agent_ops.storage._sql import Modules, Where
from agent_ops.storage.channels import Listener
from agent_ops.storage.encryption import Keyring, Resealed

__all__ = ["Base"]

R = TypeVar("R")


class Base:
    """What every concept's methods stand on: the backend's SQL modules, `_tx` and the checkpointer."""

    _saver: BaseCheckpointSaver[str] | None = None
    _keyring: Keyring = Keyring()
    """The keys checkpoints and store values are sealed under (`storage.encryption`); none: plain."""
    _sql: Modules
    """The backend's SQL, one module per concept (`sqlite/` and `postgres/` hold the same)."""

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """The official LangGraph checkpointer, on the same database."""
        if self._saver is None:
            raise _policy.not_open()
        return self._saver

    def encrypt_at_rest(self, keyring: Keyring) -> None:
        """Seal checkpoints and store values under `keyring` (no key: plain); before `open`."""
        if self._saver is not None:
            raise RuntimeError("set the encryption keys before opening the storage")
        self._keyring = keyring

    def sealed_tables(self) -> list[str]:
        """The tables `reseal_batch` goes through: the checkpointer's, `store_items`, the events'."""
        return list(self._sql.sealed.TABLES)

    async def reseal_batch(
        self, table: str, *, after: tuple[Any, ...] | None = None, limit: int = 500
    ) -> Resealed:
        """Seal under the current key, in one transaction, the sealed values of up to `limit`
        rows of `table` that follow the primary key `after` (and plain store values too);
        ConfigError naming the settings for a value no key opens."""
        if not self._keyring:
            raise ConfigError("cannot re-seal: AGENT_OPS_ENCRYPTION_KEY is not set")
        return await self._tx(self._sql.sealed.reseal_batch, table, after, limit, self._keyring)

    async def _tx(self, fn: Callable[..., R], /, *args: Any) -> R:
        """Run `fn(tx, *args)` as one transaction and deliver its wake-ups after commit.

        Typed by what the caller returns: the backends' SQL functions are untyped module
        attributes, so `return await self._tx(...)` takes the method's declared type."""
        raise NotImplementedError

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(payload)` for each wake-up on `channel` (the backend's)."""
        raise NotImplementedError

    def _read(self, read: Callable[[Row, Columns], R], rows: list[Row]) -> list[R]:
        """Records from rows read in the backend's dialect."""
        columns: Columns = self._sql.rows.COLUMNS
        return [read(r, columns) for r in rows]

    def _clause(self) -> Where:
        """An empty WHERE clause in the backend's dialect."""
        where: Where = self._sql.rows.Where()
        return where
