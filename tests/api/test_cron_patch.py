"""A cron's PATCH through the official langgraph-sdk: each field the body accepts, left out
(kept), sent as null (reset, cleared or kept, as the field says) and sent with a value (set);
a bad value is a 422 naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

# field -> (value at creation, value patched in, what null leaves: "keep", "clear" or "reset")
# A row field (schedule, enabled, end_time) is read from the cron, the rest from its payload.
FIELDS: dict[str, tuple[Any, Any, str]] = {
    "schedule": ("0 0 * * *", "30 6 * * 1", "keep"),
    "enabled": (True, False, "keep"),
    "end_time": ("2999-01-01T00:00:00+00:00", "3000-06-01T12:00:00+00:00", "clear"),
    "timezone": ("Europe/Paris", "America/New_York", "reset"),
    "input": ({"messages": [{"role": "user", "content": "hi"}]}, {"messages": []}, "reset"),
    "config": ({"configurable": {"tone": "dry"}}, {"configurable": {"tone": "wet"}}, "reset"),
    "context": ({"tier": 1}, {"tier": 2}, "reset"),
    "metadata": ({"team": "ap"}, {"owner": "maria"}, "reset"),
    "interrupt_before": (["respond"], "*", "reset"),
    "interrupt_after": (["respond"], "*", "reset"),
    "webhook": ("http://127.0.0.1:9/first", "http://127.0.0.1:9/second", "reset"),
    "on_run_completed": ("keep", "delete", "reset"),
    "stream_mode": (["updates"], ["values", "updates"], "reset"),
    "stream_subgraphs": (True, False, "reset"),
    "stream_resumable": (True, False, "reset"),
    "durability": ("sync", "exit", "reset"),
}
_ROW = {"schedule", "enabled", "end_time"}

BAD: dict[str, Any] = {
    "schedule": "every tuesday",
    "enabled": "maybe",
    "end_time": "someday",
    "timezone": "Mars/Olympus_Mons",
    "config": "dry",
    "context": 5,
    "metadata": ["team"],
    "interrupt_before": 5,
    "interrupt_after": {"node": "respond"},
    "webhook": "ftp://127.0.0.1/hook",
    "on_run_completed": "sometimes",
    "stream_mode": "bogus",
    "stream_subgraphs": "maybe",
    "stream_resumable": [],
    "durability": "forever",
    "surprise": 1,  # not a field of the PATCH at all
}


def _read(cron: dict[str, Any], field: str) -> Any:
    value = cron[field] if field in _ROW else cron["payload"].get(field)
    if field == "end_time" and value is not None:
        return datetime.fromisoformat(value)
    return value


def _expected(field: str, value: Any) -> Any:
    return datetime.fromisoformat(value) if field == "end_time" and value is not None else value


async def _patch(cron: dict[str, Any], body: dict[str, Any]) -> Any:
    return await get_client(url=cron["url"]).http.patch(f"/runs/crons/{cron['cron_id']}", json=body)


@pytest.fixture
async def cron(url: str) -> AsyncIterator[dict[str, Any]]:
    """A stateless cron made with a value for every field the PATCH accepts, deleted after
    (`url` added: the server it is on)."""
    client = get_client(url=url)
    body = {field: first for field, (first, _, _) in FIELDS.items()}
    made = await client.http.post("/runs/crons", json={"assistant_id": "echo", **body})
    for field, (first, _, _) in FIELDS.items():
        assert _read(made, field) == _expected(field, first), field
    yield {**made, "url": url}
    await client.crons.delete(made["cron_id"])


@pytest.mark.parametrize("field", list(FIELDS))
async def test_cron_patch_keeps_an_omitted_field_sets_a_sent_one_and_applies_null(
    cron: dict[str, Any], field: str
) -> None:
    first, patched, on_null = FIELDS[field]
    other = "context" if field != "context" else "config"
    omitted = await _patch(cron, {other: FIELDS[other][1]})
    assert _read(omitted, field) == _expected(field, first)

    sent = await _patch(cron, {field: patched})
    assert _read(sent, field) == _expected(field, patched)
    untouched = [f for f in FIELDS if f not in (field, other)]
    assert all(_read(sent, f) == _expected(f, FIELDS[f][0]) for f in untouched)

    nulled = await _patch(cron, {field: None})
    after_null = {"keep": _expected(field, patched), "clear": None, "reset": None}[on_null]
    assert _read(nulled, field) == after_null


async def test_cron_patch_merges_metadata_and_null_metadata_keeps_the_cron_s(
    cron: dict[str, Any],
) -> None:
    merged = await _patch(cron, {"metadata": {"owner": "maria"}})
    assert merged["metadata"] == {"team": "ap", "owner": "maria"}
    nulled = await _patch(cron, {"metadata": None})
    assert nulled["metadata"] == {"team": "ap", "owner": "maria"}


async def test_cron_patch_through_the_sdk_clears_end_time_only_when_told(
    cron: dict[str, Any],
) -> None:
    client = get_client(url=cron["url"])
    kept = await client.crons.update(cron["cron_id"], enabled=False)
    assert kept["end_time"] is not None and kept["enabled"] is False
    cleared = await client.crons.update(cron["cron_id"], end_time=None)
    assert cleared["end_time"] is None and cleared["enabled"] is False


async def test_cron_patch_of_a_new_time_zone_moves_the_next_fire_time(cron: dict[str, Any]) -> None:
    # Made as 0 0 * * * in Europe/Paris.
    moved = await _patch(cron, {"timezone": "Asia/Tokyo"})
    assert datetime.fromisoformat(moved["next_run_date"]).hour == 15  # midnight in Tokyo
    back = await _patch(cron, {"timezone": None})
    assert datetime.fromisoformat(back["next_run_date"]).hour == 0  # midnight UTC


async def _refused(cron: dict[str, Any], body: dict[str, Any]) -> str:
    """Send a patch that must be refused; return the 422's detail (the cron unchanged)."""
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await _patch(cron, body)
    assert caught.value.response.status_code == 422
    now = await get_client(url=cron["url"]).http.get(f"/runs/crons/{cron['cron_id']}")
    assert {**now, "url": cron["url"]} == cron, "a refused patch changed the cron"
    detail: str = caught.value.response.json()["detail"]
    return detail


@pytest.mark.parametrize("field", list(BAD))
async def test_cron_patch_with_a_bad_value_is_a_422_naming_the_field(
    cron: dict[str, Any], field: str
) -> None:
    assert field in await _refused(cron, {field: BAD[field]})


async def test_cron_patch_of_a_reserved_configurable_key_is_a_422_naming_it(
    cron: dict[str, Any],
) -> None:
    detail = await _refused(cron, {"config": {"configurable": {"__deps": 1}}})
    assert "config.configurable.__deps" in detail
