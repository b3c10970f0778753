"""Outbound webhooks through a real server on each backend, driven by langgraph-sdk: a run that
names a webhook is posted once, signed (Standard Webhooks); failures are retried with backoff
and given up after the configured attempts; private targets are refused at admission (422) and,
when a name resolves to one, at delivery. The delivery's state is read at
`GET /threads/{thread_id}/runs/{run_id}/webhook`."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import UnprocessableEntityError

from agent_ops.errors import ConfigError
from agent_ops.runtime.admission import resolve_public
from agent_ops.runtime.webhooks import retry_delay, signer
from agent_ops.settings import Settings
from tests.graphs.graphs import REPLY
from tests.servers import BACKENDS, new_server, serving
from tests.triggers.receiver import Receiver, verified

SECRET = "whsec_" + base64.b64encode(b"outbound webhook test secret 32b").decode()
HI = {"messages": [{"role": "user", "content": "hi"}]}
MAX_ATTEMPTS = 3


def _server(
    request: pytest.FixtureRequest, factory: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[str]:
    env = {
        "AGENT_OPS_WEBHOOK_SECRET": SECRET,
        "AGENT_OPS_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "AGENT_OPS_WEBHOOK_RETRY_SECONDS": "0.2",
        **env,
    }
    with serving(new_server(factory, name, env, request=request)) as server:
        assert server.url is not None
        yield server.url


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose runs may call loopback (where the test's receiver listens)."""
    yield from _server(
        request, tmp_path_factory, "webhooks", AGENT_OPS_WEBHOOK_ALLOW_PRIVATE="true"
    )


@pytest.fixture(scope="module", params=BACKENDS)
def guarded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server with the production default: only public webhook targets."""
    yield from _server(request, tmp_path_factory, "webhooks-guarded")


async def _run_with_webhook(url: str, webhook: str, graph: str = "echo") -> tuple[str, str]:
    client = get_client(url=url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], graph, input=HI, webhook=webhook)
    await client.runs.join(thread["thread_id"], run["run_id"])
    return thread["thread_id"], run["run_id"]


async def _delivery(url: str, thread_id: str, run_id: str, until: str) -> dict[str, Any]:
    """The run's webhook delivery once its state is `until`."""
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(200):
            response = await http.get(f"/threads/{thread_id}/runs/{run_id}/webhook")
            assert response.status_code == 200, response.text
            if response.json()["state"] == until:
                return dict(response.json())
            await asyncio.sleep(0.1)
    raise AssertionError(f"webhook of run {run_id} never {until}: {response.json()}")


async def test_finished_run_is_posted_once_signed_with_the_configured_secret(url: str) -> None:
    with Receiver() as hook:
        thread_id, run_id = await _run_with_webhook(url, hook.url)
        state = await _delivery(url, thread_id, run_id, "delivered")
        await asyncio.sleep(1.0)  # a second post would come within the poll interval
    assert len(hook.posts) == 1
    post = hook.posts[0]
    body = verified(post, SECRET)
    assert body["run_id"] == run_id and body["status"] == "success"
    assert body["values"]["messages"][-1]["content"] == REPLY
    assert post.headers["webhook-id"] == state["webhook_id"]
    assert state["attempts"] == 1 and state["last_error"] is None
    assert state["url"] == hook.url and state["delivered_at"] is not None
    async with httpx.AsyncClient(base_url=url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'agent_ops_webhook_attempts_total{outcome="delivered"}' in metrics


async def test_an_interrupted_run_and_a_failed_run_are_posted_too(url: str) -> None:
    # An approval waiting in a thread is news a chat tool can announce; so is a failure.
    with Receiver() as hook:
        asked = await _run_with_webhook(url, hook.url, "approve")
        failed = await _run_with_webhook(url, hook.url, "fail")
        await _delivery(url, *asked, "delivered")
        await _delivery(url, *failed, "delivered")
    bodies = {body["run_id"]: body for body in (verified(p, SECRET) for p in hook.posts)}
    interrupt = bodies[asked[1]]["values"]["__interrupt__"]
    assert interrupt[0]["value"] == {"question": "approve?"}
    assert bodies[failed[1]]["status"] == "error"
    assert (
        bodies[failed[1]]["error"]["message"] == "invoice total 120.00 does not match lines 100.00"
    )


async def test_a_receiver_answering_500_twice_gets_the_same_message_a_third_time(
    url: str,
) -> None:
    with Receiver(answers=(500, 500)) as hook:
        thread_id, run_id = await _run_with_webhook(url, hook.url)
        state = await _delivery(url, thread_id, run_id, "delivered")
    assert len(hook.posts) == 3
    assert len({p.headers["webhook-id"] for p in hook.posts}) == 1, "one id: receivers dedupe"
    assert [verified(p, SECRET)["run_id"] for p in hook.posts] == [run_id] * 3
    assert state["attempts"] == 3
    assert "answered 500" in state["last_error"]  # the last failure stays on record


async def test_a_receiver_that_keeps_failing_is_given_up_after_the_attempts_with_the_error(
    url: str,
) -> None:
    with Receiver(answers=(503,) * 10) as hook:
        thread_id, run_id = await _run_with_webhook(url, hook.url)
        state = await _delivery(url, thread_id, run_id, "failed")
        await asyncio.sleep(1.0)
    assert len(hook.posts) == MAX_ATTEMPTS
    assert state["attempts"] == MAX_ATTEMPTS
    assert f"attempt {MAX_ATTEMPTS}" in state["last_error"] and "503" in state["last_error"]
    assert state["failed_at"] is not None and state["next_attempt_at"] is None


async def test_a_receiver_refusing_with_400_is_not_retried(url: str) -> None:
    with Receiver(answers=(400,)) as hook:
        thread_id, run_id = await _run_with_webhook(url, hook.url)
        state = await _delivery(url, thread_id, run_id, "failed")
    assert len(hook.posts) == 1
    assert "answered 400; not retried" in state["last_error"]


async def test_a_run_without_webhook_has_no_delivery_to_show(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input=HI)
    await client.runs.join(thread["thread_id"], run["run_id"])
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get(f"/threads/{thread['thread_id']}/runs/{run['run_id']}/webhook")
    assert response.status_code == 404
    assert run["run_id"] in response.json()["detail"]


@pytest.mark.parametrize(
    "webhook",
    ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/x", "http://[::1]/x"],
)
async def test_a_webhook_on_a_private_address_is_a_422_naming_the_field(
    guarded_url: str, webhook: str
) -> None:
    client = get_client(url=guarded_url)
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.runs.create(thread["thread_id"], "echo", input=HI, webhook=webhook)
    detail = json.loads(caught.value.response.text)["detail"]
    assert "webhook" in detail and webhook in detail
    assert await client.runs.list(thread["thread_id"]) == [], "nothing was queued"


async def test_a_cron_with_a_webhook_on_a_private_address_is_a_422_naming_the_field(
    guarded_url: str,
) -> None:
    # Refused when the cron is made or changed, not at each firing where it could only log.
    client = get_client(url=guarded_url)
    with pytest.raises(UnprocessableEntityError) as made:
        await client.crons.create("echo", schedule="0 8 * * *", webhook="http://10.0.0.7/hook")
    assert "webhook" in made.value.response.text and "10.0.0.7" in made.value.response.text
    cron = await client.crons.create("echo", schedule="0 8 * * *")
    async with httpx.AsyncClient(base_url=guarded_url) as http:
        changed = await http.patch(
            f"/runs/crons/{cron['cron_id']}", json={"webhook": "http://169.254.169.254/"}
        )
    assert changed.status_code == 422 and "webhook" in changed.json()["detail"]
    await client.crons.delete(cron["cron_id"])


async def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(
    guarded_url: str,
) -> None:
    # The machine's own name passes admission (it is a name, not an address); what it
    # resolves to when the message is delivered decides, as with a DNS record rebound later.
    host = socket.gethostname()
    with Receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        thread_id, run_id = await _run_with_webhook(guarded_url, f"http://{host}:{port}/done")
        state = await _delivery(guarded_url, thread_id, run_id, "failed")
    assert hook.posts == []
    assert "private" in state["last_error"] and host in state["last_error"]
    assert state["attempts"] == 1, "a refused target is not retried"


def test_a_malformed_signing_secret_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="AGENT_OPS_WEBHOOK_SECRET"):
        signer(Settings(webhook_secret="whsec_not base64 at all!"))
    with pytest.raises(ConfigError, match="holds 3 bytes"):
        signer(Settings(webhook_secret="whsec_" + base64.b64encode(b"abc").decode()))
    assert signer(Settings(webhook_secret=SECRET)) is not None
    assert signer(Settings()) is None


def test_retry_delays_double_with_jitter_up_to_an_hour() -> None:
    for attempts, middle in ((1, 2.0), (2, 4.0), (5, 32.0), (30, 3600.0)):
        delays = [retry_delay(attempts, 2.0) for _ in range(50)]
        assert all(middle * 0.5 <= d <= middle * 1.5 for d in delays), (attempts, delays)
        assert len(set(delays)) > 1, "jitter spreads retries"


async def test_delivery_connects_to_the_address_it_checked() -> None:
    # The checked address is what the post goes to (a second look-up could answer otherwise).
    assert await resolve_public("https://93.184.215.14/x", allow_private=False) == "93.184.215.14"
    host = socket.gethostname()
    assert await resolve_public(f"http://{host}/x", allow_private=True) is None, "by name"
