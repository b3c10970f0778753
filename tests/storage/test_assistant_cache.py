"""Each process keeps the assistants it reads for a few seconds; a change never leaves a stale
copy behind: in the process that made it at once, in another process (PostgreSQL) by the
ASSISTANT_CHANGED wake-up, well before the copy's time is up."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agent_ops.errors import NotFound
from agent_ops.storage import (
    ASSISTANT_CHANGED,
    AssistantChanges,
    NewAssistant,
    Storage,
    create_storage,
)
from agent_ops.storage._cache import CACHE_SECONDS


async def _assistant(storage: Storage) -> str:
    assistant_id = str(uuid.uuid4())
    await storage.create_assistant(
        NewAssistant(assistant_id=assistant_id, graph_id="echo", name="first")
    )
    return assistant_id


async def test_a_change_in_this_process_is_read_back_at_once(storage: Storage) -> None:
    assistant_id = await _assistant(storage)
    assert (await storage.get_assistant(assistant_id)).name == "first"  # now kept
    await storage.update_assistant(assistant_id, AssistantChanges(name="second"))
    assert (await storage.get_assistant(assistant_id)).name == "second"
    await storage.set_assistant_version(assistant_id, 1)
    assert (await storage.get_assistant(assistant_id)).name == "first"
    await storage.delete_assistant(assistant_id)
    with pytest.raises(NotFound, match=assistant_id):
        await storage.get_assistant(assistant_id)


@pytest.mark.postgres
async def test_a_change_in_another_process_reaches_this_ones_copy(pg_url: str) -> None:
    here, there = create_storage(pg_url), create_storage(pg_url)
    await here.open()
    await there.open()
    try:
        assistant_id = await _assistant(there)
        assert (await here.get_assistant(assistant_id)).name == "first"  # kept here
        changed = asyncio.Event()
        here.listen(ASSISTANT_CHANGED, lambda _: changed.set())  # after the copy's own listener
        await there.update_assistant(assistant_id, AssistantChanges(name="second"))
        await asyncio.wait_for(changed.wait(), CACHE_SECONDS / 2)  # long before the copy ages
        assert (await here.get_assistant(assistant_id)).name == "second"
        changed.clear()
        await there.delete_assistant(assistant_id)
        await asyncio.wait_for(changed.wait(), CACHE_SECONDS / 2)
        with pytest.raises(NotFound, match=assistant_id):
            await here.get_assistant(assistant_id)
    finally:
        await here.close()
        await there.close()
