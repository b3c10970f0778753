"""Outbound webhooks: deliver the outbox's messages (a finished run's body, written by the
run's ending itself) from every process that runs workers.

Each message is leased before it is posted and its outcome recorded after, so whichever process
is alive delivers it: a process killed mid-post leaves a lease that lapses and another process
posts again. Delivery is therefore at least once; receivers dedupe on `webhook-id`, which is
stable per message. Bodies are signed with Standard Webhooks headers when a secret is set; the
target is re-resolved and pinned to the checked address at every attempt, so a name rebound to
a private address is refused. A failure (connection, timeout, 408, 429, 5xx) is retried after
an exponential delay with jitter until the attempts run out; any other answer below 200 or from
300 up gives up at once, as resending the same bytes would get the same refusal.

A message addressed `mailto:` (an escalated approval's notice) is mailed instead, through the
mail sender the composition root gives (the mail connector's SMTP settings): retried the same
way when the SMTP server cannot be reached, given up when it refuses.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from agent_ops.errors import ConfigError, ConnectorRejected, ConnectorUnavailable, InvalidInput
from agent_ops.observability.metrics import WEBHOOK_ATTEMPTS
from agent_ops.runtime.admission import resolve_public
from agent_ops.runtime.liveness import this_process
from agent_ops.runtime.periodic import cancel_and_wait
from agent_ops.runtime.serde import dumps
from agent_ops.settings import Settings
from agent_ops.storage import WEBHOOK_QUEUED, Storage, WebhookMessage

__all__ = ["MailSender", "WebhookDeliverer", "retry_delay", "signer"]

MailSender = Callable[[str, str, str, str], Awaitable[object]]
"""Send one plain-text mail: `(to, subject, body, idempotency key)`."""

log = logging.getLogger(__name__)

MAX_RETRY_SECONDS: Final = 3600.0
MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64
IN_FLIGHT: Final = 16
"""Messages one process posts at once (a slow receiver holds one slot, not the loop)."""
RETRIED_STATUSES: Final = frozenset({408, 409, 425, 429})
LEASE_PER_TIMEOUT: Final = 2.0
"""A lease lasts this many attempt timeouts, so a live holder never loses it mid-post, and a
dead holder's message is due again soon after."""


def retry_delay(attempts: int, first: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: `first` doubled per
    attempt, capped at an hour, spread by jitter so failed messages do not return in step."""
    delay = min(first * 2.0 ** (attempts - 1), MAX_RETRY_SECONDS)
    return delay * random.uniform(0.5, 1.5)


def signer(settings: Settings) -> Webhook | None:
    """The Standard Webhooks signer of the configured secret, None when none is set."""
    if settings.webhook_secret is None:
        return None
    secret = settings.webhook_secret.get_secret_value()
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"AGENT_OPS_WEBHOOK_SECRET is not whsec_ + base64: {exc}") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ConfigError(
            f"AGENT_OPS_WEBHOOK_SECRET holds {len(key)} bytes; Standard Webhooks secrets hold "
            f"{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} (e.g. whsec_ + base64 of 32 random bytes)"
        )
    return Webhook(secret)


class _Refused(Exception):
    """The receiver or the target address refused the message; retrying cannot help."""


class _Failed(Exception):
    """The receiver answered with a status worth retrying (5xx, 408, 429 ...)."""


class WebhookDeliverer:
    """Leases due outbox messages and posts them, in this process."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        mail: MailSender | None = None,
    ) -> None:
        self.owner = this_process().worker_id()
        self._storage = storage
        self._settings = settings
        self._signer = signer(settings)
        self._client = client
        self._mail = mail
        self._wake = asyncio.Event()
        self._posting: set[asyncio.Task[None]] = set()

    async def run_forever(self) -> None:
        """Deliver until cancelled; in-flight posts are cancelled with it (their leases lapse
        and another attempt follows)."""
        unlisten: Callable[[], None] = self._storage.listen(
            WEBHOOK_QUEUED, lambda _: self._wake.set()
        )
        own = self._client is None
        timeout = self._settings.webhook_timeout_seconds
        client = self._client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        try:
            while True:
                await self._round(client)
        finally:
            unlisten()
            await cancel_and_wait(*self._posting)
            if own:
                await client.aclose()

    async def _round(self, client: httpx.AsyncClient) -> None:
        self._wake.clear()
        free = IN_FLIGHT - len(self._posting)
        messages: list[WebhookMessage] = []
        if free > 0:
            try:
                messages = await self._storage.claim_webhooks(
                    owner=self.owner,
                    lease_seconds=self._settings.webhook_timeout_seconds * LEASE_PER_TIMEOUT,
                    limit=free,
                )
            except Exception:
                log.exception("claiming outbound webhooks failed; retrying")
                await asyncio.sleep(1.0)
                return
        for message in messages:
            task = asyncio.create_task(self._guarded(client, message), name="agent-ops webhook")
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
            task.add_done_callback(lambda _: self._wake.set())  # a slot is free again
        if len(messages) < free or free <= 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)

    async def _guarded(self, client: httpx.AsyncClient, message: WebhookMessage) -> None:
        try:
            await self._attempt(client, message)
        except Exception:
            # Recording the outcome failed (the database is away): the lease lapses and the
            # message is attempted again, by this process or another.
            log.exception("webhook %s: recording its attempt failed", message.message_id)

    async def _attempt(self, client: httpx.AsyncClient, message: WebhookMessage) -> None:
        """Post one message once and record what came of it."""
        settings = self._settings
        if message.attempts > settings.webhook_max_attempts:  # its last holder died mid-post
            await self._give_up(message, "no attempts left (the last one's process died)")
            return
        try:
            async with asyncio.timeout(settings.webhook_timeout_seconds):
                await self._post(client, message)
        except _Refused as exc:
            await self._give_up(message, str(exc))
            return
        except (TimeoutError, OSError, httpx.HTTPError, _Failed) as exc:
            error = f"attempt {message.attempts}: {_describe(exc)}"
            if message.attempts >= settings.webhook_max_attempts:
                await self._give_up(message, error)
                return
            delay = retry_delay(message.attempts, settings.webhook_retry_seconds)
            log.warning(
                "webhook %s for run %s failed (%s); retrying in %.1fs",
                message.message_id,
                message.run_id,
                error,
                delay,
            )
            WEBHOOK_ATTEMPTS.labels(outcome="retry").inc()
            await self._storage.webhook_failed(
                message.message_id, owner=self.owner, error=error, retry_in=delay
            )
            asyncio.get_running_loop().call_later(delay, self._wake.set)
            return
        WEBHOOK_ATTEMPTS.labels(outcome="delivered").inc()
        if not await self._storage.webhook_delivered(message.message_id, owner=self.owner):
            log.warning("webhook %s delivered after its lease lapsed", message.message_id)
        log.info("webhook %s for run %s delivered", message.message_id, message.run_id)

    async def _post(self, client: httpx.AsyncClient, message: WebhookMessage) -> None:
        """Post the message to the address its URL resolves to now; raise on failure."""
        if message.url.startswith("mailto:"):
            await self._send_mail(message)
            return
        try:
            address = await resolve_public(
                message.url, allow_private=self._settings.webhook_allow_private
            )
        except InvalidInput as exc:
            raise _Refused(str(exc)) from None
        url, headers, extensions = _pinned(message.url, address)
        body = dumps(message.payload)
        headers["content-type"] = "application/json"
        if self._signer is not None:
            sent_at = datetime.now(UTC)
            headers["webhook-id"] = message.message_id
            headers["webhook-timestamp"] = str(int(sent_at.timestamp()))
            headers["webhook-signature"] = self._signer.sign(message.message_id, sent_at, body)
        else:
            headers["webhook-id"] = message.message_id
        response = await client.post(url, content=body, headers=headers, extensions=extensions)
        status = response.status_code
        if 200 <= status < 300:
            return
        if status >= 500 or status in RETRIED_STATUSES:
            raise _Failed(f"{message.url} answered {status}")
        raise _Refused(f"{message.url} answered {status}; not retried")

    async def _send_mail(self, message: WebhookMessage) -> None:
        """Mail a notice to the `mailto:` address; raise on failure (retried if transient)."""
        to = message.url.removeprefix("mailto:")
        if self._mail is None:
            raise _Refused(
                f"{message.url}: no mail sender; AGENT_OPS_APPROVAL_ESCALATE_MAIL needs the "
                "connectors config (AGENT_OPS_CONNECTORS_CONFIG) to hold mail.smtp"
            )
        payload = message.payload if isinstance(message.payload, dict) else {}
        subject = (
            f"[agent-ops] approval escalated to {payload.get('escalated_to')}: thread "
            f"{message.thread_id} waited {payload.get('waited_hours')} h"
        )
        body = "\n".join(f"{name}: {value}" for name, value in payload.items())
        try:
            await self._mail(to, subject, body + "\n", message.message_id)
        except ConnectorUnavailable as exc:
            raise _Failed(str(exc)) from None
        except ConnectorRejected as exc:
            raise _Refused(str(exc)) from None

    async def _give_up(self, message: WebhookMessage, error: str) -> None:
        WEBHOOK_ATTEMPTS.labels(outcome="failed").inc()
        log.error(
            "webhook %s for run %s given up after %d attempts: %s",
            message.message_id,
            message.run_id,
            message.attempts,
            error,
        )
        await self._storage.webhook_failed(
            message.message_id, owner=self.owner, error=error, retry_in=None
        )


def _pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked `address`, with the `Host` header and the
    TLS server name (SNI, and the name the certificate must carry) kept as the URL's."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    literal = f"[{address}]" if ":" in address else address
    netloc = (f"{userinfo}@" if userinfo else "") + literal
    if parts.port is not None:
        netloc += f":{parts.port}"
    extensions: dict[str, Any] = {}
    if parts.scheme == "https":
        extensions["sni_hostname"] = parts.hostname
    return urlunsplit(parts._replace(netloc=netloc)), {"host": hostport}, extensions


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    return str(exc) or type(exc).__name__
