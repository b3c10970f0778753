"""What every connector shares: read-only or side-effecting calls, the retry rule, idempotency keys.

A read-only call is retried on a transient failure (transport error, timeout, 429/502/503/504).
A side-effecting call is retried only when the request never left this machine (the connection
was refused); any later failure leaves its outcome unknown, so the caller repeats the whole tool
call with the same idempotency key and the tool finds what the first attempt made.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import httpx
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agent_ops.governance.tools import guarded

Effect = Literal["read", "write"]
"""`read`: no state changes, safe to repeat. `write`: changes the system; carries a key."""

IdempotencyKey = Annotated[
    str,
    Field(
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description=(
            "A key unique to this business action (e.g. the e-mail message id plus the "
            "supplier's invoice number). Repeating a call with the same key returns what the "
            "first call made instead of making it twice."
        ),
    ),
]

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a read-only call is repeated."""

    attempts: int = 3
    backoff: float = 0.2  # seconds before the 2nd attempt; doubles each time
    max_retry_after: float = 30.0  # a server's Retry-After is honoured up to this many seconds

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: the server's word when it gave one."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff * (2 ** (attempt - 1))


class TransientFailure(Exception):
    """A failure after which a read-only call may be repeated (internal to connectors)."""

    def __init__(self, cause: str, *, sent: bool, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.sent = sent  # False when the request never reached the other side
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every connector's HTTP client: building one loads the CA
    bundle (about 40 ms), which a client per workflow step would otherwise pay each time."""
    return httpx.create_ssl_context()


def classify_transport_error(exc: httpx.TransportError) -> TransientFailure:
    """Say whether a transport error happened before the request was sent."""
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return TransientFailure(f"{type(exc).__name__}: {exc or 'no detail'}", sent=sent)


async def with_retries(
    call: Callable[[], Awaitable[T]], *, effect: Effect, policy: RetryPolicy
) -> T:
    """Run `call`, repeating it on TransientFailure when the effect and the failure allow it."""
    attempt = 1
    while True:
        try:
            return await call()
        except TransientFailure as failure:
            repeatable = effect == "read" or not failure.sent
            if not repeatable or attempt >= policy.attempts:
                raise
            await asyncio.sleep(policy.delay(attempt, failure.retry_after))
            attempt += 1


async def http_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    effect: Effect,
    policy: RetryPolicy,
    describe: Callable[[httpx.Response], str],
    retry_after: Callable[[httpx.Response], float | None] = lambda _: None,
) -> httpx.Response:
    """Send an HTTP request under `policy`: a transport error, or an answer with a transient
    status (described by `describe`), is a TransientFailure that may be repeated as
    `with_retries` allows; any other answer is returned as it is."""

    async def attempt() -> httpx.Response:
        try:
            response = await send()
        except httpx.TransportError as exc:
            raise classify_transport_error(exc) from exc
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientFailure(describe(response), sent=True, retry_after=retry_after(response))
        return response

    return await with_retries(attempt, effect=effect, policy=policy)


def effect_marks(effect: Effect, system: str) -> tuple[dict[str, Any], list[str]]:
    """The metadata and tags that mark a tool read-only or side-effecting."""
    return {"effect": effect, "system": system}, [
        system,
        "read-only" if effect == "read" else "side-effect",
    ]


# Arguments LangChain injects into a tool's function, not the model's: not part of the input.
_INJECTED = frozenset({"config", "run_manager", "callbacks"})


def governed(
    coroutine: Callable[..., Awaitable[Any]], *, name: str, system: str
) -> Callable[..., Awaitable[Any]]:
    """Wrap a side-effecting tool's function so that each call goes through the tool
    permissions' door (agent_ops.governance.tools.guarded): refused unless the run's graph may
    make it, recorded when it may. The wrapper keeps the function's signature, so LangChain
    still injects `config` where the function asks for it."""

    @functools.wraps(coroutine)
    async def call(*args: Any, **kwargs: Any) -> Any:
        given = {k: v for k, v in kwargs.items() if k not in _INJECTED}
        key = given.get("idempotency_key")
        return await guarded(
            system,
            name,
            lambda: coroutine(*args, **kwargs),
            payload=given,
            key=key if isinstance(key, str) else None,
        )

    return call


def connector_tool(
    coroutine: Callable[..., Awaitable[Any]],
    *,
    name: str,
    description: str,
    args_schema: type[BaseModel],
    effect: Effect,
    system: str,
) -> BaseTool:
    """Wrap an async function as a LangChain tool marked read-only or side-effecting.

    The mark lives in `tool.metadata["effect"]` and in the tags (`read-only` or `side-effect`),
    so a graph or a policy can tell the two apart without knowing the connector. A
    side-effecting tool runs only where the run's graph may make it (`governed`).
    """
    metadata, tags = effect_marks(effect, system)
    return StructuredTool.from_function(
        coroutine=governed(coroutine, name=name, system=system) if effect == "write" else coroutine,
        name=name,
        description=description,
        args_schema=args_schema,
        metadata=metadata,
        tags=tags,
    )
