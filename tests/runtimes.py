"""Runtimes in the test's own process, one per simulated server process, on one database: the one
way a fixture starts them and stops them all when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent_ops.runtime import GraphRegistry, Runtime, Trigger
from agent_ops.settings import Settings
from agent_ops.storage import create_storage

StartRuntime = Callable[..., Awaitable[Runtime]]


@asynccontextmanager
async def started_runtimes(
    database_url: str,
    config: Path,
    registry: GraphRegistry | None = None,
    **defaults: Any,
) -> AsyncIterator[StartRuntime]:
    """Yield `start(workers=0, triggers=(), **settings)`, which starts one more runtime of the
    graphs in `config` on `database_url` (settings over `defaults`); stop them all on the way out."""
    graphs = registry or GraphRegistry.load(config)
    started: list[Runtime] = []

    async def start(workers: int = 0, triggers: Sequence[Trigger] = (), **settings: Any) -> Runtime:
        chosen = Settings(
            database_url=database_url, workers=workers, config=config, **(defaults | settings)
        )
        runtime = Runtime(chosen, create_storage(database_url), graphs, triggers=triggers)
        await runtime.start()
        started.append(runtime)
        return runtime

    try:
        yield start
    finally:
        for runtime in started:
            await runtime.stop()
