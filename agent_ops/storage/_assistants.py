"""Assistants in storage: the `Storage` part written once above both backends (each method one
transaction of the backend's `assistants` module function of that name, or of `rows` for search
and count), with a short per-process cache of reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_ops.storage import _records as rec
from agent_ops.storage._base import Base, R
from agent_ops.storage._cache import AssistantCache
from agent_ops.storage._requests import AssistantChanges, NewAssistant
from agent_ops.storage._sql import Where
from agent_ops.storage.channels import ASSISTANT_CHANGED
from agent_ops.storage.queries import ANY_ASSISTANT, FIRST_PAGE, AssistantFilter, Page
from agent_ops.storage.records import Assistant
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json, OnConflictBehavior

__all__ = ["Assistants"]


class Assistants(Base):
    """Assistants: a graph with its configuration, versioned on every change.

    Reads are kept for a few seconds per process (`_cache`): a change here drops the copy
    before it returns, one elsewhere by its ASSISTANT_CHANGED wake-up."""

    _cached: AssistantCache | None = None

    def _assistant_cache(self) -> AssistantCache:
        if self._cached is None:
            self._cached = AssistantCache()
            self.listen(ASSISTANT_CHANGED, self._cached.drop)
        return self._cached

    def _changed(self, assistant_id: str) -> None:
        """Drop the copy once a change committed (or failed): a read that began before it
        is not kept either."""
        if self._cached is not None:
            self._cached.drop(assistant_id)

    def _assistant_where(self, filter: AssistantFilter) -> Where:
        where = self._clause().equals("graph_id", filter.graph_id).substring("name", filter.name)
        if filter.tenant_id is not None:
            # The registry's default assistants (default tenant, owner system) serve every tenant.
            mark = where.placeholder
            where.add(
                f"(tenant_id = {mark} OR (tenant_id = {mark} AND owner = {mark}))",
                filter.tenant_id,
                DEFAULT_TENANT,
                DEFAULT_OWNER,
            )
        return where.contains("metadata", filter.metadata)

    async def create_assistant(
        self, new: NewAssistant, if_exists: OnConflictBehavior = "raise"
    ) -> Assistant:
        """Insert version 1; on an existing id raise Conflict or return the stored one."""
        return await self._tx(self._sql.assistants.create_assistant, new, if_exists)

    async def get_assistant(self, assistant_id: str) -> Assistant:
        cache = self._assistant_cache()
        kept = cache.get(assistant_id)
        if kept is not None:
            return kept
        generation = cache.generation
        found: Assistant = await self._tx(self._sql.assistants.get_assistant, assistant_id)
        cache.put(found, generation)
        return found

    async def update_assistant(self, assistant_id: str, changes: AssistantChanges) -> Assistant:
        """Store a new version (fields not given are kept, metadata is merged) and make it latest."""
        return await self._change(self._sql.assistants.update_assistant, assistant_id, changes)

    async def delete_assistant(self, assistant_id: str) -> None:
        await self._change(self._sql.assistants.delete_assistant, assistant_id)

    async def search_assistants(
        self, filter: AssistantFilter = ANY_ASSISTANT, page: Page = FIRST_PAGE
    ) -> list[Assistant]:
        where = self._assistant_where(filter)
        return self._read(
            rec.assistant, await self._tx(self._sql.rows.search, "assistants", where, page)
        )

    async def count_assistants(self, filter: AssistantFilter = ANY_ASSISTANT) -> int:
        where = self._assistant_where(filter)
        return await self._tx(self._sql.rows.count, "assistants", where)

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        """Return stored versions, newest first."""
        where = self._clause().equals("assistant_id", assistant_id).contains("metadata", metadata)
        return await self._tx(
            self._sql.assistants.list_assistant_versions, assistant_id, where, Page(limit, offset)
        )

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        """Make an earlier version the current one."""
        return await self._change(self._sql.assistants.set_assistant_version, assistant_id, version)

    async def _change(self, step: Callable[..., R], assistant_id: str, *args: Any) -> R:
        """Run `step` on the assistant in one transaction, dropping the cached copy once it
        committed (or failed)."""
        try:
            return await self._tx(step, assistant_id, *args)
        finally:
            self._changed(assistant_id)
