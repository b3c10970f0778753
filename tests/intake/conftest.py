"""Fixtures for triggers: the mail dev server on loopback and a runtime per storage backend.

Runtimes run in this process on the test's fresh database, one per simulated server process;
tests poll sources through `IntakeTriggers.poll_once` (deterministic) or start the triggers.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest

from agent_ops.runtime.intake import IntakeGate
from agent_ops.runtime.registry import GraphRegistry
from agent_ops.storage import IntakeItem
from agent_ops.types import Json
from tests.runtimes import StartRuntime, started_runtimes
from tools.mail.devserver import MailDevServer

GRAPHS = Path(__file__).parent / "langgraph.json"
INBOX = "invoices@example.org"
VENDOR = "billing@vendor.example"


@pytest.fixture(scope="session")
def registry() -> GraphRegistry:
    return GraphRegistry.load(GRAPHS)


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailDevServer]:
    with MailDevServer() as server:
        yield server


@pytest.fixture
def mailbox(request: pytest.FixtureRequest) -> str:
    """An address of its own per test (the dev server keeps one account per address)."""
    return f"inbox-{abs(hash(request.node.nodeid)) % 10**9}@example.org"


@pytest.fixture
async def start_runtime(database_url: str, registry: GraphRegistry) -> AsyncIterator[StartRuntime]:
    """Start runtimes (one per simulated process) on the test's database; stopped afterwards."""
    async with started_runtimes(database_url, GRAPHS, registry, poll_seconds=0.1) as start:
        yield start


def send_mail(
    server: MailDevServer,
    to: str,
    *,
    subject: str,
    body: str | None = "Please find the invoice attached.",
    attachments: Sequence[tuple[str, str, bytes]] = (),
    sender: str = VENDOR,
) -> str:
    """Deliver a message through the dev server's SMTP port; return its Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((to, subject)))}@vendor.example>"
    if body is not None:
        message.set_content(body)
    for filename, media_type, data in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    with smtplib.SMTP(server.host, server.smtp_port, timeout=5) as client:
        client.send_message(message)
    return str(message["Message-ID"])


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll `check` until it is true; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 (the state is in another task or process)
            await asyncio.sleep(0.02)


class CrashAfterCommit(IntakeGate):
    """The intake gate of a poller killed right after its ledger transaction commits."""

    async def submit(
        self, key: str, intake: Json, *, origin: str | None = None, summary: Json | None = None
    ) -> tuple[IntakeItem, bool]:
        await super().submit(key, intake, origin=origin, summary=summary)
        raise SystemExit("poller killed after the ledger commit, before moving the item")
