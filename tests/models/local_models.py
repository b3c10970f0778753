"""Models of a test's own config with the shipped prompts and their decisions kept in memory, for
the tests of the embedded SmolLM2 server: closed (and so its server stopped) when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.settings import Settings

PROMPTS = Path(__file__).parents[2] / "prompts"


@asynccontextmanager
async def models_of(config: dict[str, Any]) -> AsyncIterator[tuple[Models, MemoryDecisions]]:
    """Yield the models of `config` and the sink of their decisions; close them on the way out."""
    sink = MemoryDecisions()
    models = Models(ModelsConfig.model_validate(config), Settings(prompts_dir=PROMPTS), sink)
    try:
        yield models, sink
    finally:
        await models.aclose()
