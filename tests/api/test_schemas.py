"""`GET /assistants/{id}/schemas` and `/subgraphs` as the LangGraph server answers them.

The expected values were taken from `langgraph dev` (langgraph-api 0.16.7) serving the same graphs,
except the input and output schemas of `typing.TypedDict` graphs: on Python 3.11 pydantic refuses
those and the official server answers None; we draw them as Python 3.12 would.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import get_client

CTX = {
    "properties": {
        "tone": {"default": "plain", "title": "Tone", "type": "string"},
        "user": {"default": "nobody", "title": "User", "type": "string"},
    },
    "title": "Ctx",
    "type": "object",
}


def _state(title: str) -> dict[str, Any]:
    """The state schema of a graph over `Asked`: its channels, each defaulting to None."""
    return {
        "properties": {
            key: {"default": None, "title": key.title(), "type": "string"}
            for key in ("answer", "question", "scratch")
        },
        "title": title,
        "type": "object",
    }


def _typed_dict(title: str, *keys: str) -> dict[str, Any]:
    return {
        "properties": {key: {"title": key.title(), "type": "string"} for key in keys},
        "required": list(keys),
        "title": title,
        "type": "object",
    }


async def _assistant_id(url: str, graph_id: str) -> str:
    """The id of `graph_id`'s default assistant (other tests make more of the same graph)."""
    search = get_client(url=url).assistants.search
    [found] = await search(graph_id=graph_id, metadata={"created_by": "system"})
    return str(found["assistant_id"])


async def test_schemas_of_a_typing_typeddict_graph_with_context_and_io_schemas(url: str) -> None:
    client = get_client(url=url)
    schemas = await client.assistants.get_schemas(await _assistant_id(url, "contextual"))
    assert schemas == {
        "graph_id": "contextual",
        "input_schema": _typed_dict("Question", "question"),
        "output_schema": _typed_dict("Answer", "answer"),
        # the stream channels, titled after the graph id the unnamed graph takes
        "state_schema": _state("contextual_state"),
        # only the `configurable` part of the config: the context schema, as LangGraph 1 builds it
        "config_schema": CTX,
        "context_schema": CTX,
    }


async def test_a_graph_without_context_has_an_empty_config_schema_and_no_context_schema(
    url: str,
) -> None:
    schemas = await get_client(url=url).assistants.get_schemas(await _assistant_id(url, "wrapped"))
    assert schemas["config_schema"] == {}
    assert schemas["context_schema"] is None
    assert schemas["state_schema"] == _state("wrapped_state")
    assert schemas["input_schema"] == _typed_dict("Asked", "question", "answer", "scratch")


async def test_subgraph_schemas_are_keyed_by_namespace_without_a_graph_id(url: str) -> None:
    client = get_client(url=url)
    wrapped = await _assistant_id(url, "wrapped")
    inner = {
        "input_schema": _typed_dict("Question", "question"),
        "output_schema": _typed_dict("Answer", "answer"),
        # a named subgraph keeps LangGraph's default name: only the top graph takes its id
        "state_schema": _state("LangGraphState"),
        "config_schema": CTX,
        "context_schema": CTX,
    }
    assert await client.assistants.get_subgraphs(wrapped) == {"inner": inner}
    assert await client.assistants.get_subgraphs(wrapped, recurse=True) == {"inner": inner}
    assert await client.assistants.get_subgraphs(wrapped, namespace="inner") == {"inner": inner}
