"""E-mail and folder triggers under the stored model, against the loopback mail server and a
real folder on both backends: the same invoice arriving by e-mail and by folder at once feeds
one thread (its business key is the document's hash), each message and each file starts one run
however many processes poll, and the runs queue on that thread (`enqueue`)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from agent_ops.runtime import IntakeSource, Runtime
from agent_ops.storage import StoredTrigger
from agent_ops.triggers import TriggerCreate, TriggerService
from tests.triggers.conftest import StartRuntime
from tools.folder import FolderSettings, FolderWatcher
from tools.mail import MailPoller
from tools.mail.devserver import MailDevServer

PDF = b"%PDF-1.4\n% invoice INV-2026-0042, total 1200.00 EUR\n%%EOF\n"
KEY = "invoice:{$.sha256[0]}"


@pytest.fixture(scope="module")
def mail_server() -> Iterator[MailDevServer]:
    with MailDevServer() as server:
        yield server


def _send(server: MailDevServer, to: str) -> None:
    message = EmailMessage()
    message["From"] = "billing@vendor.example"
    message["To"] = to
    message["Subject"] = "Invoice INV-2026-0042"
    message.set_content("Please find the invoice attached.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="inv-42.pdf")
    with smtplib.SMTP(server.host, server.smtp_port, timeout=5) as client:
        client.send_message(message)


async def _trigger(runtime: Runtime, kind: str, source: str) -> StoredTrigger:
    body = {
        "name": kind,
        "kind": kind,
        "assistant_id": "collector",
        "source": source,
        "business_key": KEY,
        "input_mapping": {"invoice": "$.payload.kind", "payload": "$.payload.subject"},
    }
    return await TriggerService(runtime).create(TriggerCreate.model_validate(body))


async def test_one_invoice_by_mail_and_by_folder_at_once_feeds_one_thread(
    start_runtime: StartRuntime,
    mail_server: MailDevServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    mailbox = f"ap-{abs(hash(request.node.nodeid)) % 10**9}@example.org"
    inbox = tmp_path / "scans"
    inbox.mkdir()

    def sources() -> dict[str, IntakeSource]:  # each process builds its own pollers
        return {
            "mail": MailPoller(mail_server.imap_settings(mailbox)),
            "folder:scans": FolderWatcher("scans", FolderSettings(path=inbox)),
        }

    runtime = await start_runtime()
    by_mail = await _trigger(runtime, "email", "mail")
    by_folder = await _trigger(runtime, "folder", "folder:scans")
    _send(mail_server, mailbox)
    (inbox / "inv-42.pdf").write_bytes(PDF)
    processes = [TriggerService(await start_runtime(), sources=sources()) for _ in range(2)]
    now = datetime.now(UTC) + timedelta(seconds=11)

    started = await asyncio.gather(*(p.tick(now) for p in processes for _ in range(2)))
    again = await processes[0].tick(now + timedelta(seconds=10))

    assert sum(started) == 2 and again == 0
    [mail_item] = await runtime.storage.list_intake(source="mail")
    [file_item] = await runtime.storage.list_intake(source="folder:scans")
    assert mail_item.thread_id == file_item.thread_id
    runs = await runtime.storage.list_runs(mail_item.thread_id)
    assert sorted(r.run_id for r in runs) == sorted([mail_item.run_id, file_item.run_id])
    inputs = sorted(r.kwargs["input"]["invoice"] for r in runs)
    assert inputs == ["folder", "mail"]
    assert {r.metadata["trigger_id"] for r in runs} == {by_mail.trigger_id, by_folder.trigger_id}
    assert (inbox / "done" / "inv-42.pdf").exists()
    for trigger in (by_mail, by_folder):
        after = await runtime.storage.get_trigger(trigger.trigger_id)
        assert after.last_fired_at is not None and after.last_error is None


async def test_an_unconfigured_source_is_recorded_on_the_trigger(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    trigger = await _trigger(runtime, "folder", "folder:nowhere")

    assert await TriggerService(runtime).tick(datetime.now(UTC) + timedelta(seconds=11)) == 0

    after = await runtime.storage.get_trigger(trigger.trigger_id)
    assert after.last_error is not None and "folder:nowhere" in after.last_error
