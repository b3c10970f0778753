"""The webhook outbox, on every backend through the `Storage` protocol: a run's message is
written by the ending that makes it final (and only by it), leased to one deliverer at a time,
due again when the lease lapses, retried or given up as its holder records."""

from __future__ import annotations

import asyncio
import uuid

from agent_ops.storage import Run, Storage, WebhookMessage, completion_body

HOOK = "https://hooks.example.com/done"


async def _running(storage: Storage, *, webhook: str | None = HOOK) -> Run:
    thread_id = str(uuid.uuid4())
    await storage.create_thread(thread_id=thread_id, metadata={})
    kwargs = {"input": {}, **({"webhook": webhook} if webhook else {})}
    await storage.create_run(
        run_id=str(uuid.uuid4()), thread_id=thread_id, assistant_id="agent", kwargs=kwargs
    )
    [claimed] = await storage.claim_runs(worker_id="w1", lease_seconds=30, max_attempts=3)
    return claimed


async def _finished(storage: Storage, **options: str | None) -> Run:
    run = await _running(storage, **options)
    finished = await storage.finish_run(
        run.run_id, worker_id="w1", status="success", output={"answer": 42}
    )
    assert finished is not None
    return finished


async def _claim(storage: Storage, owner: str, lease: float = 30.0) -> list[WebhookMessage]:
    return await storage.claim_webhooks(owner=owner, lease_seconds=lease, limit=10)


async def test_finishing_a_run_with_a_webhook_writes_its_message(storage: Storage) -> None:
    finished = await _finished(storage)
    [message] = await storage.run_webhooks(finished.run_id)
    assert message.url == HOOK and message.state == "pending" and message.attempts == 0
    assert message.payload == completion_body(finished)
    assert message.payload["values"] == {"answer": 42} and message.payload["status"] == "success"
    assert message.thread_id == finished.thread_id and message.tenant_id == finished.tenant_id


async def test_no_message_without_webhook_or_when_the_ending_lost_its_lease(
    storage: Storage,
) -> None:
    plain = await _finished(storage, webhook=None)
    assert await storage.run_webhooks(plain.run_id) == []
    run = await _running(storage)
    assert (
        await storage.finish_run(run.run_id, worker_id="not-the-holder", status="success") is None
    )
    assert await storage.run_webhooks(run.run_id) == []
    assert await _claim(storage, "d1") == []


async def test_a_message_is_leased_to_one_deliverer_at_a_time(storage: Storage) -> None:
    finished = await _finished(storage)
    [leased] = await _claim(storage, "d1")
    assert leased.run_id == finished.run_id and leased.attempts == 1 and leased.lease_owner == "d1"
    assert await _claim(storage, "d2") == []
    assert not await storage.webhook_delivered(leased.message_id, owner="d2")
    assert await storage.webhook_delivered(leased.message_id, owner="d1")
    [done] = await storage.run_webhooks(finished.run_id)
    assert done.state == "delivered" and done.lease_owner is None
    assert await _claim(storage, "d2") == []


async def test_a_lapsed_lease_makes_the_message_due_for_another_deliverer(
    storage: Storage,
) -> None:
    await _finished(storage)
    [first] = await _claim(storage, "dead", lease=0.2)
    await asyncio.sleep(0.3)
    [again] = await _claim(storage, "alive")
    assert again.message_id == first.message_id and again.attempts == 2
    assert not await storage.webhook_failed(first.message_id, owner="dead", error="x", retry_in=1)
    assert await storage.webhook_delivered(again.message_id, owner="alive")


async def test_a_failed_attempt_is_due_after_its_delay_and_a_given_up_one_never(
    storage: Storage,
) -> None:
    finished = await _finished(storage)
    [leased] = await _claim(storage, "d1")
    assert await storage.webhook_failed(
        leased.message_id, owner="d1", error="attempt 1: answered 500", retry_in=0.3
    )
    [waiting] = await storage.run_webhooks(finished.run_id)
    assert waiting.state == "pending" and waiting.last_error == "attempt 1: answered 500"
    assert await _claim(storage, "d1") == [], "not due before its delay"
    await asyncio.sleep(0.4)
    [retried] = await _claim(storage, "d2")
    assert retried.attempts == 2
    assert await storage.webhook_failed(
        retried.message_id, owner="d2", error="attempt 2: timed out", retry_in=None
    )
    [failed] = await storage.run_webhooks(finished.run_id)
    assert failed.state == "failed" and failed.failed_at is not None
    assert failed.last_error == "attempt 2: timed out"
    await asyncio.sleep(0.1)
    assert await _claim(storage, "d3") == []


async def test_the_message_outlives_its_deleted_run(storage: Storage) -> None:
    finished = await _finished(storage)
    await storage.delete_run(finished.run_id)
    [leased] = await _claim(storage, "d1")
    assert leased.run_id == finished.run_id and leased.payload["run_id"] == finished.run_id


async def test_a_run_ended_by_the_queue_after_its_attempts_gets_its_message(
    storage: Storage,
) -> None:
    thread_id = str(uuid.uuid4())
    await storage.create_thread(thread_id=thread_id, metadata={})
    run = await storage.create_run(
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        assistant_id="agent",
        kwargs={"input": {}, "webhook": HOOK},
    )
    await storage.claim_runs(worker_id="dies", lease_seconds=0.1, max_attempts=1)
    await asyncio.sleep(0.2)
    assert await storage.claim_runs(worker_id="w2", lease_seconds=30, max_attempts=1) == []
    [message] = await storage.run_webhooks(run.run_id)
    assert message.payload["status"] == "error"
    assert "attempt" in message.payload["error"]["message"]
