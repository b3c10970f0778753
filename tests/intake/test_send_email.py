"""SMTP out through the `send_email` tool against the loopback server, keys kept in the store."""

from __future__ import annotations

import asyncio
from datetime import datetime
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from agent_ops.errors import Conflict, ConnectorUnavailable
from agent_ops.runtime.store import ServerStore
from agent_ops.storage import Storage
from tools.connector import RetryPolicy
from tools.mail import (
    SENT_NAMESPACE,
    ImapSession,
    Mailer,
    SendEmail,
    SmtpSettings,
    mail_tools,
    parse_mail,
)
from tools.mail.devserver import MailDevServer, free_port

SENDER = "agent-ops@example.org"


def inbox_messages(server: MailDevServer, user: str) -> list[bytes]:
    session = ImapSession(server.imap_settings(user)).open()
    try:
        session.select("INBOX")
        found = [session.fetch(uid) for uid in session.uids()]
        return [raw for raw, _ in filter(None, found)]
    finally:
        session.close()


async def test_send_email_twice_with_one_key_sends_one_mail(
    storage: Storage, mail_server: MailDevServer, mailbox: str
) -> None:
    mailer = Mailer(mail_server.smtp_settings(SENDER), ServerStore(storage))
    [tool] = mail_tools(mailer)
    assert tool.name == "send_email" and tool.metadata == {"effect": "write", "system": "smtp"}
    args = {
        "to": [mailbox],
        "subject": "Invoice 17 approved",
        "body": "Your invoice 17 was approved and is scheduled for payment.",
        "idempotency_key": "invoice-17:approved",
        "in_reply_to": "<original@vendor.example>",
    }
    first = await tool.ainvoke(args)
    again = await tool.ainvoke(args)  # a resumed run repeats the call
    assert first["already_sent"] is False and again["already_sent"] is True
    assert again["message_id"] == first["message_id"]

    [raw] = inbox_messages(mail_server, mailbox)
    mail = parse_mail(raw, key="x", received_at=datetime.fromisoformat(first["sent_at"]))
    assert mail.subject == "Invoice 17 approved" and mail.sender == SENDER
    assert mail.message_id == first["message_id"]
    assert mail.body == args["body"]
    stored = await ServerStore(storage).aget(SENT_NAMESPACE, "invoice-17:approved")
    assert stored is not None and stored.value["message_id"] == first["message_id"]


async def test_a_key_reused_for_another_mail_is_a_conflict(
    storage: Storage, mail_server: MailDevServer, mailbox: str
) -> None:
    mailer = Mailer(mail_server.smtp_settings(SENDER), ServerStore(storage))
    mail = SendEmail(to=[mailbox], subject="A", body="a", idempotency_key="notice-0001")
    await mailer.send(mail)
    with pytest.raises(Conflict, match="notice-0001.*already sent a mail"):
        await mailer.send(mail.model_copy(update={"subject": "B"}))
    assert len(inbox_messages(mail_server, mailbox)) == 1


async def test_an_smtp_server_that_is_down_is_a_clear_error_and_nothing_is_recorded(
    storage: Storage, mail_server: MailDevServer
) -> None:
    port = free_port()
    settings = mail_server.smtp_settings(SENDER, port=port)
    mailer = Mailer(settings, ServerStore(storage), retry=RetryPolicy(attempts=2, backoff=0.01))
    mail = SendEmail(to=["x@example.org"], subject="A", body="a", idempotency_key="notice-0002")
    with pytest.raises(ConnectorUnavailable, match=f"127.0.0.1:{port} cannot be reached"):
        await mailer.send(mail)
    assert await ServerStore(storage).aget(SENT_NAMESPACE, "notice-0002") is None


def test_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="'not-an-address' is not an e-mail address"):
        SendEmail(to=["not-an-address"], subject="A", body="a", idempotency_key="notice-0003")
    with pytest.raises(ValidationError, match="idempotency_key"):
        SendEmail(to=["a@example.org"], subject="A", body="a", idempotency_key="short")


async def test_a_send_cut_short_by_a_crash_is_sent_again_as_the_same_message(
    storage: Storage, mail_server: MailDevServer, mailbox: str
) -> None:
    """A sender killed after the SMTP server took the mail and before it recorded that leaves
    its outbox entry `sending`: the next send delivers the same message again (Message-ID and
    Date fixed in the entry, so receivers deduplicate it) and records it as resent."""
    store = ServerStore(storage)
    mailer = Mailer(mail_server.smtp_settings(SENDER), store)
    mail = SendEmail(to=[mailbox], subject="Paid", body="paid", idempotency_key="notice-0004")
    first = await mailer.send(mail)
    entry = await store.aget(SENT_NAMESPACE, "notice-0004")
    assert entry is not None and entry.value["state"] == "sent"
    # What the killed sender left: the entry as it was written before the SMTP conversation.
    await store.aput(SENT_NAMESPACE, "notice-0004", {**entry.value, "state": "sending"})

    again = await mailer.send(mail)
    last = await mailer.send(mail)

    assert (again.resent, again.already_sent) == (True, False)
    assert (last.resent, last.already_sent) == (True, True)  # the record keeps that it was
    assert again.message_id == last.message_id == first.message_id
    raws = inbox_messages(mail_server, mailbox)
    assert len(raws) == 2
    parsed = [message_from_bytes(raw) for raw in raws]
    assert {(m["Message-ID"], m["Date"]) for m in parsed} == {(first.message_id, parsed[0]["Date"])}


class _Moments:
    """An SMTP server's handler that notes when it accepted the mail and when it heard QUIT."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.seen.append("accepted")
        return "250 OK"

    async def handle_QUIT(self, server: object, session: object, envelope: object) -> str:
        self.seen.append("quit")
        return "221 Bye"


class _NotingStore(ServerStore):
    def __init__(self, storage: Storage, seen: list[str]) -> None:
        super().__init__(storage)
        self.seen = seen

    async def aput(self, namespace: tuple[str, ...], key: str, value: dict, **kw: object) -> None:  # type: ignore[override]
        await super().aput(namespace, key, value, **kw)  # type: ignore[arg-type]
        self.seen.append(f"recorded {value['state']}")


async def test_the_mail_is_recorded_sent_before_the_connection_is_closed(
    storage: Storage,
) -> None:
    """The one window in which a crash repeats a mail is between the server's accept and the
    record; QUIT (a round trip) comes after the record, so it does not widen that window."""
    moments = _Moments()
    controller = Controller(moments, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = SmtpSettings.model_validate(
            {"host": "127.0.0.1", "port": controller.port, "tls": "none", "sender": SENDER}
        )
        mailer = Mailer(settings, _NotingStore(storage, moments.seen))
        mail = SendEmail(
            to=["v@example.org"], subject="Paid", body="paid", idempotency_key="quit-0001"
        )
        sent = await mailer.send(mail)
        for _ in range(50):  # QUIT reaches the server's own loop a moment later
            if "quit" in moments.seen:
                break
            await asyncio.sleep(0.02)
    finally:
        controller.stop()

    assert not sent.resent
    assert moments.seen == ["recorded sending", "accepted", "recorded sent", "quit"]
