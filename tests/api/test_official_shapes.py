"""What the LangGraph server answers, field for field, where a client may read it: the modes a
subgraph streams, interrupts with their `response_schema`, the addresses in a thread's state
and in `debug` checkpoints, and the answer to a state update.

Each expectation was read from `langgraph dev` (langgraph-api 0.16.7) running the same graphs
(tests/graphs/shapes.py) with the same sdk calls; `python -m tests.api.test_official_shapes
URL` runs these tests against any server, the official one included.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langgraph_sdk import get_client

from tests.graphs.shapes import DECISION_SCHEMA

ITEMS = {"items": ["in"]}


async def _events(client: Any, *args: Any, **kwargs: Any) -> list[tuple[str, Any]]:
    return [(part.event, part.data) async for part in client.runs.stream(*args, **kwargs)]


async def test_a_subgraph_streams_only_the_modes_the_client_asked_for(url: str) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    paused = await _events(
        client, tid, "subgraph_ask", input=ITEMS, stream_mode=["updates"], stream_subgraphs=True
    )
    resumed = await _events(
        client,
        tid,
        "subgraph_ask",
        command={"resume": "yes"},
        stream_mode=["updates"],
        stream_subgraphs=True,
    )
    names = [name.split(":")[0] for name, _ in paused + resumed]
    assert names == [
        "metadata",
        "updates",  # parent_first
        "updates|child",  # sub_a
        "updates|child",  # the pause, inside the subgraph
        "updates",  # the pause, as the parent sees it
        "metadata",
        "updates|child",  # sub_ask answered
        "updates",  # child
        "updates",  # parent_last
    ]
    assert [list(data) for name, data in resumed if name != "metadata"] == [
        ["sub_ask"],
        ["child"],
        ["parent_last"],
    ]


async def test_an_interrupt_carries_its_response_schema_in_streams_waits_and_states(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    events = await _events(client, tid, "decide", input=ITEMS, stream_mode=["values", "updates"])
    streamed = [data["__interrupt__"] for name, data in events if "__interrupt__" in data]
    assert len(streamed) == 2  # the `updates` and the `values` chunk
    for interrupts in streamed:
        (interrupt,) = interrupts
        assert interrupt["value"] == {"question": "pay?"}
        assert interrupt["response_schema"] == DECISION_SCHEMA
    state = await client.threads.get_state(tid)
    assert state["interrupts"] == [
        {
            "id": streamed[0][0]["id"],
            "value": {"question": "pay?"},
            "response_schema": DECISION_SCHEMA,
        }
    ]
    assert state["tasks"][0]["interrupts"] == state["interrupts"]
    thread = await client.threads.get(tid)
    assert list(thread["interrupts"].values()) == [state["interrupts"]]
    done = await client.runs.wait(tid, "decide", command={"resume": {"ok": True}})
    assert done == {"items": ["in", "ok=True", "after"]}

    # Without a schema: streams and waits carry `response_schema: null`, a state leaves it out.
    other = (await client.threads.create())["thread_id"]
    waited = await client.runs.wait(other, "subgraph_ask", input=ITEMS)
    (interrupt,) = waited["__interrupt__"]
    assert interrupt["response_schema"] is None
    assert set(interrupt) == {"id", "value", "response_schema"}
    (in_state,) = (await client.threads.get_state(other))["interrupts"]
    assert set(in_state) == {"id", "value"}


async def test_a_state_carries_checkpoint_addresses_as_the_official_server_gives_them(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "subgraph_ask", input=ITEMS)
    state = await client.threads.get_state(tid)
    # The root checkpoint has no `checkpoint_map`; the deprecated ids are still sent.
    assert set(state["checkpoint"]) == {"checkpoint_id", "checkpoint_ns", "thread_id"}
    assert state["checkpoint"]["thread_id"] == tid
    assert state["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert state["parent_checkpoint_id"] == state["parent_checkpoint"]["checkpoint_id"]
    # Read without `subgraphs`, the paused subgraph's task gives its checkpoint's address.
    (task,) = state["tasks"]
    assert task["name"] == "child" and task["state"] is None
    assert task["checkpoint"] == {"checkpoint_ns": f"child:{task['id']}", "thread_id": tid}
    # Read with `subgraphs`, it gives the subgraph's state, whose checkpoint has a map.
    deep = await client.threads.get_state(tid, subgraphs=True)
    (task,) = deep["tasks"]
    assert task["checkpoint"] is None
    inner = task["state"]["checkpoint"]
    assert inner["checkpoint_ns"] == f"child:{task['id']}"
    assert inner["checkpoint_map"][""] == deep["checkpoint"]["checkpoint_id"]
    assert task["state"]["values"] == {"items": ["in", "parent_first", "sub_a"]}
    assert [t["name"] for t in task["state"]["tasks"]] == ["sub_ask"]


async def test_a_state_update_answers_with_the_checkpoint_and_its_deprecated_forms(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "decide", input=ITEMS)
    await client.runs.wait(tid, "decide", command={"resume": {"ok": False}})
    answer = await client.threads.update_state(tid, {"items": ["edited"]}, as_node="after")
    checkpoint = answer["checkpoint"]
    assert checkpoint["thread_id"] == tid and checkpoint["checkpoint_ns"] == ""
    assert answer["configurable"] == checkpoint
    assert answer["checkpoint_id"] == checkpoint["checkpoint_id"]
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == checkpoint["checkpoint_id"]
    assert state["values"]["items"][-1] == "edited"


async def test_debug_checkpoints_carry_their_addresses_and_subgraph_tasks_theirs(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    events = await _events(client, tid, "subgraph_ask", input=ITEMS, stream_mode="debug")
    checkpoints = [data["payload"] for name, data in events if data.get("type") == "checkpoint"]
    assert checkpoints
    for payload in checkpoints:
        config = payload["config"]["configurable"]
        assert payload["checkpoint"] == {
            "checkpoint_id": config["checkpoint_id"],
            "checkpoint_ns": "",
            "thread_id": tid,
        }
        parent = payload["parent_config"]
        assert payload["parent_checkpoint"] == (
            None
            if parent is None
            else {
                "checkpoint_id": parent["configurable"]["checkpoint_id"],
                "checkpoint_ns": "",
                "thread_id": tid,
            }
        )
    # The checkpoint that schedules the subgraph names its task's checkpoint, not a `state`.
    tasks = [
        task for payload in checkpoints for task in payload["tasks"] if task["name"] == "child"
    ]
    assert tasks
    for task in tasks:
        assert "state" not in task
        assert task["checkpoint"] == {"checkpoint_ns": f"child:{task['id']}", "thread_id": tid}


async def test_a_graph_left_unnamed_is_named_after_its_id_in_events(url: str) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    events = await _events(client, tid, "decide", input=ITEMS, stream_mode="events")
    roots = [data for name, data in events if name == "events" and not data["parent_ids"]]
    assert [(data["event"], data["name"]) for data in roots] == [
        ("on_chain_start", "decide"),
        ("on_chain_end", "decide"),
    ]


async def test_a_cancel_waited_for_answers_a_json_object(url: str) -> None:
    """Not an empty 204: the sdk hands the body to the caller (tests/api/test_runs.py pins
    what ours holds: the run's output, as joining it gives)."""
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "decide", input=ITEMS)
    run = await client.runs.create(tid, "decide", command={"resume": {"ok": True}})
    answer = await client.runs.cancel(tid, run["run_id"], wait=True)
    assert isinstance(answer, dict)
    assert (await client.runs.get(tid, run["run_id"]))["status"] in ("interrupted", "success")


async def test_a_drawing_names_nodes_without_their_class_paths(url: str) -> None:
    client = get_client(url=url)
    (assistant,) = await client.assistants.search(graph_id="decide")
    drawn = await client.assistants.get_graph(assistant["assistant_id"])
    assert {node["id"] for node in drawn["nodes"]} == {"__start__", "decide", "after", "__end__"}
    named = [node for node in drawn["nodes"] if isinstance(node.get("data"), dict)]
    assert {node["data"]["name"] for node in named} >= {"decide", "after"}
    assert not [node for node in named if "id" in node["data"]]


async def test_a_context_schema_gets_its_defaults_and_the_configurable_stands_in_for_it(
    url: str,
) -> None:
    """With no context a dataclass context is built from its defaults (not None); the run's
    configurable, narrowed to the schema's fields, stands in for a context not given."""
    client = get_client(url=url)
    greet = {"items": []}
    assert await client.runs.wait(None, "greet", input=greet) == {"items": ["plain:nobody"]}
    given = await client.runs.wait(None, "greet", input=greet, context={"user": "ann"})
    assert given == {"items": ["plain:ann"]}
    configured = await client.runs.wait(
        None, "greet", input=greet, config={"configurable": {"tone": "warm", "other": 1}}
    )
    assert configured == {"items": ["warm:nobody"]}


async def test_a_thread_paused_at_a_breakpoint_is_interrupted(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(tid, "subgraph_ask", input=ITEMS, interrupt_before=["child"])
    assert paused == {"items": ["in", "parent_first"]}
    thread = await client.threads.get(tid)
    assert (thread["status"], thread["interrupts"]) == ("interrupted", {})
    assert (await client.threads.get_state(tid))["next"] == ["child"]
    # Continued without a command, the run goes on to the subgraph's own pause.
    await client.runs.wait(tid, "subgraph_ask", input=None)
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and len(thread["interrupts"]) == 1


async def test_a_graph_with_an_output_schema_outputs_only_its_keys_and_keeps_its_state(
    url: str,
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    events = await _events(client, tid, "answer_only", input={"question": "why"})
    assert [(name, data) for name, data in events if name != "metadata"] == [
        ("values", {"answer": "WHY"})
    ]
    whole = {"question": "why", "answer": "WHY", "scratch": "worked"}
    assert (await client.threads.get(tid))["values"] == whole
    assert (await client.threads.get_state(tid))["values"] == whole
    waited = await client.runs.wait(None, "answer_only", input={"question": "how"})
    assert waited == {"answer": "HOW"}


async def _against(url: str) -> None:
    for name, test in sorted(globals().items()):
        if name.startswith("test_"):
            await test(url)
            print("ok", name)


if __name__ == "__main__":
    asyncio.run(_against(sys.argv[1]))
