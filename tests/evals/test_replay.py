"""The replay cache behind a model role: what makes two requests the same, and its three modes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent_ops.errors import ModelUnavailable
from agent_ops.models import MemoryDecisions, Models, ModelsConfig, ProviderOptions, ReplayCache
from agent_ops.models.replay import request_key
from agent_ops.settings import Settings
from tests.evals.support.agent import lookup_order


def _entries(folder: Path) -> int:
    return len(list(folder.glob("*/*.json")))


def _models(cache: ReplayCache) -> Models:
    config = ModelsConfig.model_validate(
        {
            "roles": {
                "classify": {"providers": ["rules:echo"], "retries": 0, "on_failure": "error"}
            },
        }
    )
    models = Models(config, Settings(), MemoryDecisions(), replay=cache)
    asked: list[str] = []

    def echo(messages: Sequence[BaseMessage]) -> AIMessage:
        asked.append(messages[-1].text)
        return AIMessage(
            content="",
            tool_calls=[{"name": "lookup_order", "args": {"order_id": str(len(asked))}, "id": "x"}],
        )

    models.register_rule("echo", echo)
    models.asked = asked  # type: ignore[attr-defined]
    return models


async def test_the_same_request_is_answered_once_and_replayed_exactly(tmp_path: Path) -> None:
    cache = ReplayCache(tmp_path)
    models = _models(cache)
    role = models.role("classify").bind_tools([lookup_order])
    first = await role.ainvoke("order please")
    again = await role.ainvoke("order please")
    other = await role.ainvoke("another order")
    assert models.asked == ["order please", "another order"]  # type: ignore[attr-defined]
    assert (
        again.tool_calls
        == first.tool_calls
        == [{"name": "lookup_order", "args": {"order_id": "1"}, "id": "x", "type": "tool_call"}]
    )
    assert other.tool_calls[0]["args"] == {"order_id": "2"}
    assert (cache.hits, cache.misses) == (1, 2)
    assert _entries(tmp_path) == 2
    # Forcing the tool makes it another request.
    forced = models.role("classify").bind_tools([lookup_order], tool_choice="lookup_order")
    await forced.ainvoke("order please")
    assert cache.misses == 3


@dataclass
class _Endpoint:
    """What `request_key` reads of a provider."""

    spec: str
    model: str
    options: ProviderOptions


def test_the_key_covers_model_sampling_options_tools_and_schema() -> None:
    base = _Endpoint("openai:m", "m", ProviderOptions(temperature=0.0))
    ask = [HumanMessage(content="hi")]
    key = request_key(base, ask)  # type: ignore[arg-type]
    assert key == request_key(_Endpoint("openai:m", "m", ProviderOptions(temperature=0.0)), ask)  # type: ignore[arg-type]
    others = [
        request_key(_Endpoint("openai:m", "m", ProviderOptions(temperature=0.7)), ask),  # type: ignore[arg-type]
        request_key(
            _Endpoint("openai:m", "m", ProviderOptions(temperature=0.0, max_tokens=9)), ask
        ),  # type: ignore[arg-type]
        request_key(_Endpoint("openai:n", "n", ProviderOptions(temperature=0.0)), ask),  # type: ignore[arg-type]
        request_key(base, [HumanMessage(content="hi!")]),  # type: ignore[arg-type]
        request_key(base, ask, tools=[lookup_order]),  # type: ignore[arg-type]
        request_key(base, ask, schema=ProviderOptions),  # type: ignore[arg-type]
    ]
    assert len({key, *others}) == 7


async def test_refresh_asks_again_and_replay_never_asks(tmp_path: Path) -> None:
    await _models(ReplayCache(tmp_path)).role("classify").bind_tools([lookup_order]).ainvoke("hi")
    refresh = _models(ReplayCache(tmp_path, "refresh"))
    await refresh.role("classify").bind_tools([lookup_order]).ainvoke("hi")
    assert refresh.asked == ["hi"]  # type: ignore[attr-defined]
    offline = _models(ReplayCache(tmp_path, "replay"))
    await offline.role("classify").bind_tools([lookup_order]).ainvoke("hi")
    with pytest.raises(ModelUnavailable, match="has no answer of rules:echo"):
        await offline.role("classify").bind_tools([lookup_order]).ainvoke("never asked before")
    assert offline.asked == []  # type: ignore[attr-defined]
