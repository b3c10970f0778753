"""Models of a test's own config with the shipped prompts and their decisions kept in memory, for
the tests of the embedded SmolLM2 server: closed (and so its server stopped) when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from agent_ops.models import LocalModelServer, MemoryDecisions, Models, ModelsConfig
from agent_ops.settings import Settings

PROMPTS = Path(__file__).parents[2] / "prompts"


@dataclass(frozen=True)
class LocalModels:
    """The models of a test's config, the sink their decisions went to, and the embedded SmolLM2
    server their local roles share (one object for the models' lifetime, restarts included)."""

    models: Models
    sink: MemoryDecisions
    server: LocalModelServer


@asynccontextmanager
async def models_of(config: dict[str, Any], *, started: bool = False) -> AsyncIterator[LocalModels]:
    """Yield the models of `config` and the sink of their decisions, the local server already
    `started` if asked (its load is then not a test's time); close them on the way out."""
    sink = MemoryDecisions()
    models = Models(ModelsConfig.model_validate(config), Settings(prompts_dir=PROMPTS), sink)
    try:
        local = LocalModels(models, sink, models.local_server("smollm2"))
        if started:
            await local.server.base_url()
        yield local
    finally:
        await models.aclose()


def models_fixture(
    config: dict[str, Any],
    *,
    scope: Literal["session", "module", "function"] = "function",
    started: bool = False,
) -> Any:
    """A fixture: `models_of(config)` for each test (or once per `scope`)."""

    @pytest.fixture(scope=scope)
    async def local() -> AsyncIterator[LocalModels]:
        async with models_of(config, started=started) as opened:
            yield opened

    return local
