"""Crons answer as the LangGraph server does (values taken from `langgraph dev`,
langgraph-api 0.16.7): `timezone` and `on_run_completed` are fields of the cron, and a stateless
cron's `on_run_completed` decides whether its runs' threads stay."""

from __future__ import annotations

import asyncio

from langgraph_sdk import get_client

QUESTION = {"question": "q"}


async def test_a_cron_shows_its_time_zone_and_what_becomes_of_its_threads(url: str) -> None:
    client = get_client(url=url)
    stateless = await client.crons.create("contextual", schedule="0 0 * * *", input=QUESTION)
    assert stateless["on_run_completed"] == "delete"  # the default of a stateless cron
    assert stateless["timezone"] is None
    zoned = await client.crons.create(
        "contextual", schedule="0 0 * * *", input=QUESTION, timezone="Europe/Paris"
    )
    assert zoned["timezone"] == "Europe/Paris"
    thread = await client.threads.create()
    on_thread = await client.crons.create_for_thread(
        thread["thread_id"], "contextual", schedule="0 1 * * *", input=QUESTION
    )
    assert on_thread["on_run_completed"] is None
    [found] = await client.crons.search(thread_id=thread["thread_id"])
    assert found["on_run_completed"] is None and found["timezone"] is None
    for cron in (stateless, zoned, on_thread):
        await client.crons.delete(cron["cron_id"])


async def test_a_stateless_cron_told_to_keep_keeps_its_runs_threads(url: str) -> None:
    client = get_client(url=url)
    assistant = await client.assistants.create("contextual", name="kept")
    aid = assistant["assistant_id"]
    cron = await client.crons.create(
        aid, schedule="* * * * * *", input=QUESTION, on_run_completed="keep"
    )
    assert cron["on_run_completed"] == "keep"
    try:
        for _ in range(100):
            if await client.threads.search(metadata={"assistant_id": aid}, status="idle"):
                break
            await asyncio.sleep(0.1)
    finally:
        await client.crons.delete(cron["cron_id"])
    await asyncio.sleep(2.5)  # past the suite's 1 s stateless retention and its 1 s sweep
    [kept, *_] = await client.threads.search(metadata={"assistant_id": aid}, status="idle")
    assert kept["values"]["answer"] == "plain:nobody:q"
