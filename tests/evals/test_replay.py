"""The replay cache behind a model role: what makes two requests the same, and its three modes."""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent_ops.errors import ModelUnavailable
from agent_ops.models import MemoryDecisions, Models, ModelsConfig, ProviderOptions, ReplayCache
from agent_ops.models.replay import request_key
from agent_ops.settings import Settings
from evals.harness import ExperimentOptions, Suite, run_experiment
from tests.evals.support.agent import lookup_order
from tests.models.fakes import Answer, scripted_chat

SUPPORT = Path(__file__).parent / "support" / "support.yaml"


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


def _tool_call(name: str, **args: str) -> dict[str, object]:
    """An OpenAI assistant message calling one tool."""
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


async def test_a_rerun_from_the_cache_scores_the_same_with_the_model_server_stopped(
    tmp_path: Path,
) -> None:
    """The support suite against a real OpenAI-compatible server on a loopback port; the server
    is stopped, and the experiment run again from the replay cache alone."""
    answers: list[Answer] = [
        _tool_call("lookup_order", order_id="42"),
        _tool_call("escalate", reason="angry customer"),
        "see the FAQ",
        _tool_call("escalate", reason="angry customer"),
    ]
    with scripted_chat(answers) as server:
        models = tmp_path / "models.yaml"
        models.write_text(
            (SUPPORT.parent / "models.yaml")
            .read_text()
            .replace('"rules:scripted"', '"openai:scripted"')
            .replace("prompts_dir: prompts", f"prompts_dir: {SUPPORT.parent / 'prompts'}")
            + f"providers:\n  openai:scripted: {{base_url: '{server.url}', model: gpt-x}}\n"
        )
        suite = Suite.load(SUPPORT).model_copy(update={"models": models})
        first = await run_experiment(
            ExperimentOptions(suite, tmp_path / "out", replay_dir=tmp_path / "replay"),
            Settings(),
            progress=None,
        )
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    assert len(server.requests) == 4 and first.meta["replay"]["misses"] == 4
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass  # the model server is gone

    again = await run_experiment(
        ExperimentOptions(suite, tmp_path / "out", replay="replay", replay_dir=tmp_path / "replay"),
        Settings(),
        progress=None,
    )
    assert (again.meta["replay"]["hits"], again.meta["replay"]["misses"]) == (4, 0)
    assert len(server.requests) == 4
    assert first.metrics["classification.accuracy"] == 1.0
    assert first.metrics["tokens"] == 4 * 18.0  # the server's usage, kept in the cache
    timing = ("latency_ms.mean", "latency_ms.p50", "latency_ms.p95")
    same = {k: v for k, v in first.metrics.items() if k not in timing}
    assert {k: v for k, v in again.metrics.items() if k not in timing} == same
    assert [c.scores for c in again.cases] == [c.scores for c in first.cases]
    assert [c.output for c in again.cases] == [c.output for c in first.cases]
