"""The retry rule every connector shares: reads repeat on transient failures, writes only unsent."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tools.connector import (
    RetryPolicy,
    TransientFailure,
    classify_transport_error,
    with_retries,
)

POLICY = RetryPolicy(attempts=3, backoff=0)


def _failing(times: int, *, sent: bool) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise TransientFailure("boom", sent=sent)
        return "done"

    return calls, call


async def test_a_read_is_repeated_until_it_succeeds() -> None:
    calls, call = _failing(2, sent=True)
    assert await with_retries(call, effect="read", policy=POLICY) == "done"
    assert len(calls) == 3


async def test_a_read_gives_up_after_its_attempts() -> None:
    calls, call = _failing(5, sent=True)
    with pytest.raises(TransientFailure):
        await with_retries(call, effect="read", policy=POLICY)
    assert len(calls) == 3


async def test_a_write_that_reached_the_server_is_not_repeated() -> None:
    calls, call = _failing(1, sent=True)
    with pytest.raises(TransientFailure):
        await with_retries(call, effect="write", policy=POLICY)
    assert len(calls) == 1


async def test_a_write_that_never_left_is_repeated() -> None:
    calls, call = _failing(1, sent=False)
    assert await with_retries(call, effect="write", policy=POLICY) == "done"
    assert len(calls) == 2


def test_only_connection_failures_count_as_unsent() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/")
    assert not classify_transport_error(httpx.ConnectError("refused", request=request)).sent
    assert not classify_transport_error(httpx.ConnectTimeout("slow", request=request)).sent
    assert classify_transport_error(httpx.ReadTimeout("slow", request=request)).sent
    assert classify_transport_error(httpx.RemoteProtocolError("cut", request=request)).sent


async def test_a_servers_retry_after_sets_the_wait_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=2, backoff=5.0, max_retry_after=0.2)
    calls: list[float] = []

    async def call() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise TransientFailure("503", sent=True, retry_after=60.0)
        return "done"

    assert await with_retries(call, effect="read", policy=policy) == "done"
    assert 0.15 <= calls[1] - calls[0] < 1.0  # the cap, neither the backoff nor 60 s
