"""Inbound webhooks over real HTTP: a real `agent-ops serve` per backend, deliveries signed as
Standard Webhooks senders sign them, the runs read back through langgraph-sdk."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from standardwebhooks import Webhook

from tests.servers import AgentOpsProcess


@pytest.fixture
def url(hook_server: AgentOpsProcess) -> str:
    assert hook_server.url is not None
    return hook_server.url


async def _create(url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"hook-{uuid.uuid4().hex[:8]}", "kind": "webhook", "assistant_id": "collector"}
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post("/triggers", json={**body, **fields})
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _signed(
    secret: str, payload: Any, *, msg_id: str | None = None, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


async def _deliver(url: str, trigger: dict[str, Any], body: bytes, headers: dict[str, str]):
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.post(trigger["hook_path"], content=body, headers=headers)


async def _events(url: str, trigger_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get(f"/triggers/{trigger_id}/events")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()
    return events


async def test_signed_delivery_is_202_with_a_run_that_gets_the_payload(url: str) -> None:
    trigger = await _create(url)
    assert trigger["secret"].startswith("whsec_")
    body, headers = _signed(trigger["secret"], {"invoice": "INV-1", "total": 120})

    answer = await _deliver(url, trigger, body, headers)

    assert answer.status_code == 202, answer.text
    fired = answer.json()
    assert fired["started"] is True
    client = get_client(url=url)
    run = await client.runs.join(fired["thread_id"], fired["run_id"])
    assert run["seen"] == [{"invoice": "INV-1", "total": 120}]
    stored = await client.runs.get(fired["thread_id"], fired["run_id"])
    assert stored["metadata"]["trigger_id"] == trigger["trigger_id"]
    # The secret is shown once, at creation.
    async with httpx.AsyncClient(base_url=url) as http:
        read = (await http.get(f"/triggers/{trigger['trigger_id']}")).json()
    assert "secret" not in read and read["last_fired_at"] is not None


async def test_bad_signature_is_401_and_starts_nothing(url: str) -> None:
    trigger = await _create(url)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    body, headers = _signed(other, {"invoice": "INV-2"})

    forged = await _deliver(url, trigger, body, headers)
    body, headers = _signed(trigger["secret"], {"invoice": "INV-2"})
    tampered = await _deliver(url, trigger, body.replace(b"INV-2", b"INV-3"), headers)
    unsigned = await _deliver(url, trigger, body, {"content-type": "application/json"})

    assert [forged.status_code, tampered.status_code, unsigned.status_code] == [401, 401, 401]
    assert "signature" in forged.json()["detail"]
    assert await _events(url, trigger["trigger_id"]) == []


async def test_stale_timestamp_is_401_outside_the_replay_window(url: str) -> None:
    trigger = await _create(url)
    body, headers = _signed(
        trigger["secret"], {"invoice": "INV-4"}, at=datetime.now(UTC) - timedelta(minutes=10)
    )

    answer = await _deliver(url, trigger, body, headers)

    assert answer.status_code == 401
    assert "too old" in answer.json()["detail"].lower()
    assert await _events(url, trigger["trigger_id"]) == []


async def test_redelivered_event_answers_its_first_run_and_starts_nothing(url: str) -> None:
    trigger = await _create(url)
    body, headers = _signed(trigger["secret"], {"invoice": "INV-5"}, msg_id="msg_redelivered")
    first = await _deliver(url, trigger, body, headers)
    # A sender's retry: same webhook-id, signed again a moment later.
    body, headers = _signed(trigger["secret"], {"invoice": "INV-5"}, msg_id="msg_redelivered")
    again = await _deliver(url, trigger, body, headers)

    assert first.status_code == again.status_code == 202
    assert again.json()["run_id"] == first.json()["run_id"]
    assert [first.json()["started"], again.json()["started"]] == [True, False]
    assert len(await _events(url, trigger["trigger_id"])) == 1


async def test_100_concurrent_deliveries_of_20_events_start_20_runs(url: str) -> None:
    trigger = await _create(url, business_key="order:{$.payload.order}")
    deliveries = [
        _signed(trigger["secret"], {"order": n}, msg_id=f"msg_{trigger['trigger_id']}_{n}")
        for n in range(20)
        for _ in range(5)
    ]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post(trigger["hook_path"], content=b, headers=h) for b, h in deliveries)
        )

    assert {a.status_code for a in answers} == {202}, [
        a.text for a in answers if a.status_code != 202
    ]
    started = [a.json() for a in answers if a.json()["started"]]
    assert len(started) == 20
    assert len({a.json()["run_id"] for a in answers}) == 20
    assert len(await _events(url, trigger["trigger_id"])) == 20
    client = get_client(url=url)
    for fired in started:
        runs = await client.runs.list(fired["thread_id"])
        assert [r["run_id"] for r in runs] == [fired["run_id"]]


async def test_idempotency_key_from_a_json_path(url: str) -> None:
    trigger = await _create(url, idempotency="$.event.id")
    first = await _deliver(url, trigger, *_signed(trigger["secret"], {"event": {"id": "e-1"}}))
    # A different webhook-id, but the same event id in the body: the same event.
    second = await _deliver(url, trigger, *_signed(trigger["secret"], {"event": {"id": "e-1"}}))
    missing = await _deliver(url, trigger, *_signed(trigger["secret"], {"event": {}}))

    assert first.json()["run_id"] == second.json()["run_id"]
    assert second.json()["started"] is False
    assert missing.status_code == 422
    assert "$.event.id" in missing.json()["detail"]


async def test_payload_failing_the_schema_is_422_naming_the_field(url: str) -> None:
    schema = {
        "type": "object",
        "required": ["invoice"],
        "properties": {
            "invoice": {
                "type": "object",
                "properties": {"total": {"type": "number"}},
                "required": ["total"],
            }
        },
    }
    trigger = await _create(url, payload_schema=schema)

    wrong = await _deliver(
        url, trigger, *_signed(trigger["secret"], {"invoice": {"total": "many"}})
    )
    good = await _deliver(url, trigger, *_signed(trigger["secret"], {"invoice": {"total": 3}}))

    assert wrong.status_code == 422
    assert "$.invoice.total" in wrong.json()["detail"]
    assert good.status_code == 202
    assert len(await _events(url, trigger["trigger_id"])) == 1


async def test_two_triggers_with_one_business_key_feed_one_thread(url: str) -> None:
    mapping = {"invoice": "$.payload.number"}
    by_mail = await _create(url, business_key="invoice:{$.payload.number}", input_mapping=mapping)
    by_folder = await _create(url, business_key="invoice:{$.payload.number}", input_mapping=mapping)

    one = await _deliver(url, by_mail, *_signed(by_mail["secret"], {"number": "INV-77"}))
    two = await _deliver(url, by_folder, *_signed(by_folder["secret"], {"number": "INV-77"}))

    assert one.json()["thread_id"] == two.json()["thread_id"]
    client = get_client(url=url)
    await client.runs.join(two.json()["thread_id"], two.json()["run_id"])
    state = await client.threads.get_state(two.json()["thread_id"])
    # enqueue (the default): the second event ran after the first, on the same thread.
    assert state["values"]["seen"] == ["INV-77", "INV-77"]


async def test_bad_trigger_definitions_are_422_naming_the_field(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        cases = {
            "schedule": {"kind": "cron", "schedule": "61 * * * *"},
            "never fires": {"kind": "cron", "schedule": "0 0 30 2 *"},
            "timezone": {"kind": "cron", "schedule": "0 8 * * *", "timezone": "Mars/Olympus"},
            "assistant_id": {"kind": "webhook", "assistant_id": "no-such-graph"},
            "condition": {
                "kind": "sql_threshold",
                "schedule": "* * * * *",
                "connection": "db",
                "query": "q",
                "condition": "value >> 3",
            },
            "business_key": {"kind": "webhook", "business_key": "x:{payload.id}"},
            "config.configurable.__agent_ops_deps__": {
                "kind": "webhook",
                "config": {"configurable": {"__agent_ops_deps__": {}}},
            },
        }
        for field, fields in cases.items():
            body = {"name": f"bad-{uuid.uuid4().hex[:6]}", "assistant_id": "collector", **fields}
            answer = await http.post("/triggers", json=body)
            assert answer.status_code == 422, (field, answer.text)
            assert field in answer.json()["detail"], (field, answer.text)


async def test_disabled_trigger_refuses_deliveries_and_patch_reenables(url: str) -> None:
    trigger = await _create(url, enabled=False)
    refused = await _deliver(url, trigger, *_signed(trigger["secret"], {"n": 1}))
    async with httpx.AsyncClient(base_url=url) as http:
        patched = await http.patch(f"/triggers/{trigger['trigger_id']}", json={"enabled": True})
    accepted = await _deliver(url, trigger, *_signed(trigger["secret"], {"n": 2}))

    assert refused.status_code == 409
    assert patched.json()["enabled"] is True
    assert accepted.status_code == 202


async def test_fire_route_starts_a_run_with_the_posted_payload(url: str) -> None:
    trigger = await _create(url, input_mapping={"invoice": "$.payload.number"})
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(f"/triggers/{trigger['trigger_id']}/fire", json={"number": "F-1"})
        missing = await http.post(f"/triggers/{uuid.uuid4()}/fire", json={})

    assert answer.status_code == 202, answer.text
    fired = answer.json()
    done = await get_client(url=url).runs.join(fired["thread_id"], fired["run_id"])
    assert done["seen"] == ["F-1"]
    assert missing.status_code == 404


async def test_a_failing_target_is_recorded_and_later_events_still_start(url: str) -> None:
    client = get_client(url=url)
    assistant = await client.assistants.create("collector", name=f"gone-{uuid.uuid4().hex[:6]}")
    trigger = await _create(url, assistant_id=assistant["assistant_id"])
    await client.assistants.delete(assistant["assistant_id"])

    failed = await _deliver(url, trigger, *_signed(trigger["secret"], {"n": 1}))
    async with httpx.AsyncClient(base_url=url) as http:
        recorded = (await http.get(f"/triggers/{trigger['trigger_id']}")).json()
        await http.patch(f"/triggers/{trigger['trigger_id']}", json={"assistant_id": "collector"})
    later = await _deliver(url, trigger, *_signed(trigger["secret"], {"n": 2}))
    async with httpx.AsyncClient(base_url=url) as http:
        cleared = (await http.get(f"/triggers/{trigger['trigger_id']}")).json()

    assert failed.status_code == 404
    assert assistant["assistant_id"] in recorded["last_error"]
    assert later.status_code == 202 and later.json()["started"] is True
    assert cleared["last_error"] is None
    assert len(await _events(url, trigger["trigger_id"])) == 1
