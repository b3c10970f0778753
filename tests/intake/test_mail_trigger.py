"""The mail trigger against a real IMAP/SMTP server on loopback, on both storage backends.

Each new message becomes exactly one run with its attachments and body; the ledger keeps that
true across repeated polls, concurrent pollers and a crash between the ledger and the MOVE.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent_ops.errors import ConnectorRejected, ConnectorUnavailable
from agent_ops.runtime.intake import IntakeTriggers, Trigger
from agent_ops.runtime.service import Runtime
from agent_ops.storage import Page
from tests.intake.conftest import CrashAfterCommit, StartRuntime, send_mail, wait_until
from tools.mail import ImapSession, MailPoller
from tools.mail.devserver import MailDevServer, free_port

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def folder_uids(server: MailDevServer, user: str, folder: str) -> list[int]:
    session = ImapSession(server.imap_settings(user)).open()
    try:
        session.select(folder)
        return session.uids()
    finally:
        session.close()


def assert_moved(server: MailDevServer, user: str, count: int, to: str = "Processed") -> None:
    """The inbox is empty: all its `count` mails were moved to folder `to`."""
    assert folder_uids(server, user, "INBOX") == []
    assert len(folder_uids(server, user, to)) == count


async def poll(runtime: Runtime, poller: MailPoller, assistant: str = "intake_report") -> int:
    return await IntakeTriggers(runtime, []).poll_once(Trigger(poller, assistant))


async def test_a_mail_with_a_pdf_starts_one_run_that_gets_the_document(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime(workers=1)
    message_id = send_mail(
        mail_server,
        mailbox,
        subject="Invoice 2024-17",
        attachments=[("inv.pdf", "application/pdf", PDF)],
    )
    poller = MailPoller(mail_server.imap_settings(mailbox))
    assert await poll(runtime, poller) == 1

    [item] = await runtime.storage.list_intake(source="mail")
    assert item.key.startswith("INBOX/") and item.key.endswith("/101")
    assert item.origin == message_id and item.settled_at is not None
    assert item.summary == {"sender": "billing@vendor.example", "subject": "Invoice 2024-17"}
    run = await runtime.wait_for_run(item.run_id)
    assert run.status == "success"
    intake = run.kwargs["input"]["intake"]
    assert intake["kind"] == "mail" and intake["key"] == item.key
    assert intake["message_id"] == message_id and intake["received_at"]
    assert run.output is not None
    assert run.output["report"] == {
        "kind": "mail",
        "sender": "billing@vendor.example",
        "subject": "Invoice 2024-17",
        "body": "Please find the invoice attached.",
        "documents": [{"filename": "inv.pdf", "media_type": "application/pdf", "size": len(PDF)}],
    }
    # The mail left the inbox for the processed folder.
    assert_moved(mail_server, mailbox, 1)


async def test_a_mail_without_attachment_still_starts_a_run_with_its_body(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime()
    send_mail(mail_server, mailbox, subject="Where is my payment?", body="Invoice 17 is overdue.")
    send_mail(mail_server, mailbox, subject="Empty", body=None)
    assert await poll(runtime, MailPoller(mail_server.imap_settings(mailbox))) == 2
    items = await runtime.storage.list_intake(source="mail")
    inputs = {}
    for item in items:
        run = await runtime.storage.get_run(item.run_id)
        inputs[item.summary["subject"]] = run.kwargs["input"]["intake"]
    assert inputs["Where is my payment?"]["body"] == "Invoice 17 is overdue."
    assert inputs["Where is my payment?"]["documents"] == []
    assert inputs["Empty"]["body"] is None and inputs["Empty"]["documents"] == []


async def test_a_trigger_config_is_the_config_its_runs_start_with(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime(workers=1)
    send_mail(mail_server, mailbox, subject="Invoice 5")
    config = {"configurable": {"invoice_policy": {"reviewers": ["ap@example.org"]}}}
    trigger = Trigger(MailPoller(mail_server.imap_settings(mailbox)), "intake_report", config)
    assert await IntakeTriggers(runtime, []).poll_once(trigger) == 1

    [item] = await runtime.storage.list_intake(source="mail")
    run = await runtime.wait_for_run(item.run_id)
    assert run.status == "success" and run.kwargs["config"] == config


async def test_later_polls_take_in_only_new_mail(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime()
    poller = MailPoller(mail_server.imap_settings(mailbox))
    send_mail(mail_server, mailbox, subject="Invoice A")
    assert await poll(runtime, poller) == 1
    assert await poll(runtime, poller) == 0
    send_mail(mail_server, mailbox, subject="Invoice B")
    assert await poll(runtime, poller) == 1
    items = await runtime.storage.list_intake(source="mail")
    assert [i.summary["subject"] for i in items] == ["Invoice B", "Invoice A"]
    assert len(await runtime.storage.search_threads(page=Page(limit=10))) == 2


async def test_two_pollers_on_one_mailbox_start_one_run_per_mail(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    first, second = await start_runtime(), await start_runtime()  # two server processes
    for n in range(6):
        send_mail(mail_server, mailbox, subject=f"Invoice {n}")
    settings = mail_server.imap_settings(mailbox)
    started = await asyncio.gather(
        poll(first, MailPoller(settings)),
        poll(second, MailPoller(settings)),
        poll(first, MailPoller(settings)),
    )
    assert sum(started) == 6
    items = await first.storage.list_intake(source="mail")
    assert sorted(i.summary["subject"] for i in items) == [f"Invoice {n}" for n in range(6)]
    assert len({i.run_id for i in items}) == 6
    assert len(await first.storage.search_threads(page=Page(limit=50))) == 6
    assert_moved(mail_server, mailbox, 6)


async def test_a_crash_between_the_ledger_and_the_move_is_finished_by_the_next_poll(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime()
    send_mail(mail_server, mailbox, subject="Invoice crash")
    poller = MailPoller(mail_server.imap_settings(mailbox))
    with pytest.raises(SystemExit):
        await poller.poll(CrashAfterCommit(runtime, "mail", "intake_report"))
    [item] = await runtime.storage.list_intake(source="mail")
    assert item.settled_at is None
    assert len(folder_uids(mail_server, mailbox, "INBOX")) == 1  # not moved yet

    assert await poll(runtime, poller) == 0  # no second run...
    [after] = await runtime.storage.list_intake(source="mail")
    assert after.run_id == item.run_id and after.settled_at is not None  # ...but moved
    assert_moved(mail_server, mailbox, 1)
    assert len(await runtime.storage.search_threads(page=Page(limit=10))) == 1


async def test_without_move_mail_is_copied_flagged_and_expunged(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime()
    send_mail(mail_server, mailbox, subject="Invoice copy")
    poller = MailPoller(mail_server.imap_settings(mailbox, move="copy", processed_folder="Done"))
    assert await poll(runtime, poller) == 1
    assert_moved(mail_server, mailbox, 1, to="Done")


async def test_wrong_password_is_a_clear_rejection(
    mail_server: MailDevServer, mailbox: str
) -> None:
    settings = mail_server.imap_settings(mailbox, password="wrong")
    with pytest.raises(ConnectorRejected, match=f"refused user '{mailbox}'"):
        await asyncio.to_thread(ImapSession(settings).open)


async def test_an_imap_server_that_is_down_is_retried_with_backoff_until_it_is_up(
    start_runtime: StartRuntime, mailbox: str, caplog: pytest.LogCaptureFixture
) -> None:
    imap_port, smtp_port = free_port(), free_port()
    down = MailDevServer(imap_port=imap_port, smtp_port=smtp_port)  # not started yet
    poller = MailPoller(down.imap_settings(mailbox, poll_seconds=0.05))
    with pytest.raises(ConnectorUnavailable, match=f"127.0.0.1:{imap_port} cannot be reached"):
        await asyncio.to_thread(ImapSession(poller.settings).open)

    caplog.set_level(logging.WARNING, logger="agent_ops.runtime.intake")
    runtime = await start_runtime(triggers=[Trigger(poller, "intake_report")])
    state = runtime.triggers.states["mail"]

    async def failed_three_times() -> bool:
        return state.failures >= 3

    await wait_until(failed_three_times)
    assert state.last_error is not None and "cannot be reached" in state.last_error
    delays = [r.getMessage() for r in caplog.records if "next poll in" in r.getMessage()]
    assert "failure 1; next poll in 0.1s" in delays[0]
    assert "failure 3; next poll in 0.4s" in delays[2]  # doubling: the poller backs off

    with down:  # the server comes up on the same port: the next poll takes the mail in
        send_mail(down, mailbox, subject="Invoice after outage")

        async def taken_in_and_recovered() -> bool:  # the poll ends after the ledger commit
            return state.failures == 0 and bool(await runtime.storage.list_intake(source="mail"))

        await wait_until(taken_in_and_recovered, within=15)
        assert state.last_error is None and state.started == 1


def test_a_folder_another_poller_creates_first_is_taken_as_it_is(
    mail_server: MailDevServer, mailbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_mail(mail_server, mailbox, subject="opens the account")
    first = ImapSession(mail_server.imap_settings(mailbox)).open()
    second = ImapSession(mail_server.imap_settings(mailbox)).open()
    try:
        looked = second._has_folder

        def looked_before_the_other_created(folder: str) -> bool:
            seen = looked(folder)
            first.ensure_folder(folder)  # the other poller wins the race to CREATE
            monkeypatch.setattr(second, "_has_folder", looked)
            return seen

        monkeypatch.setattr(second, "_has_folder", looked_before_the_other_created)
        second.ensure_folder("Processed")  # its CREATE gets NO [ALREADYEXISTS]
        assert second._has_folder("Processed")
        refusal = ("NO", [b"[NOPERM] no folders for you"])
        monkeypatch.setattr(second._c, "create", lambda folder: refusal)
        with pytest.raises(ConnectorRejected, match=r"create folder 'Done': NO \[NOPERM\]"):
            second.ensure_folder("Done")  # a refusal for any other reason still says so
    finally:
        first.close()
        second.close()
