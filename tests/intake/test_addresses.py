"""Mail headers as vendors write them: display names, quoted names with commas, RFC 2047 encoded
words, several addresses, Reply-To, a missing From; and the send path taking `Name <address>`.
Settings that do not fit the server (TLS against a plain one) are named in the error."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agent_ops.errors import ConnectorRejected, ConnectorUnavailable, InvalidInput
from agent_ops.runtime.store import ServerStore
from agent_ops.storage import Storage
from tests.intake.conftest import StartRuntime, send_mail
from tests.intake.test_mail_trigger import poll
from tests.intake.test_send_email import inbox_messages
from tools.config import load_connectors_config
from tools.connector import RetryPolicy
from tools.mail import ImapSession, Mailer, MailPoller, SendEmail, mail_tools, mailbox, parse_mail
from tools.mail.devserver import MailDevServer

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def read(headers: str) -> dict[str, object]:
    raw = (headers.strip() + "\nSubject: Invoice 17\n\nSee attached.\n").encode("latin-1")
    payload = parse_mail(raw.replace(b"\n", b"\r\n"), key="k", received_at=NOW)
    return {
        "sender": payload.sender,
        "name": payload.sender_name,
        "reply_to": payload.reply_to,
        "problems": payload.address_problems,
    }


def test_a_display_name_is_kept_apart_from_the_address() -> None:
    assert read("From: Acme Supplies Ltd <billing@acme-supplies.example>") == {
        "sender": "billing@acme-supplies.example",
        "name": "Acme Supplies Ltd",
        "reply_to": [],
        "problems": [],
    }
    assert read("From: billing@vendor.example")["name"] is None


def test_quoted_names_with_commas_and_encoded_words_are_decoded() -> None:
    quoted = read('From: "Mueller, Hans (Billing)" <hans@mueller.example>')
    assert (quoted["sender"], quoted["name"]) == ("hans@mueller.example", "Mueller, Hans (Billing)")
    q = read("From: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@mueller.example>")
    assert (q["sender"], q["name"]) == ("hans@mueller.example", "Müller, Hans")
    latin = base64.b64encode("Jörg Müller AG".encode("iso-8859-1")).decode()
    b = read(f"From: =?iso-8859-1?b?{latin}?= <joerg@mueller.example>")
    assert (b["sender"], b["name"]) == ("joerg@mueller.example", "Jörg Müller AG")


def test_several_from_addresses_take_the_first_and_reply_to_takes_the_answers() -> None:
    several = read(
        "From: billing@acme.example, Jane Roe <jane@acme.example>\n"
        "Sender: billing@acme.example\n"
        'Reply-To: "AP Desk, Acme" <ap@acme.example>, =?utf-8?q?J=C3=BCrg?= <j@acme.example>'
    )
    assert several["sender"] == "billing@acme.example" and several["name"] is None
    assert several["reply_to"] == ["ap@acme.example", "j@acme.example"]
    assert several["problems"] == [
        "From names 2 addresses; billing@acme.example is taken as the sender"
    ]


def test_a_missing_or_unreadable_from_leaves_no_sender_and_says_why() -> None:
    assert read("To: invoices@buyer.example") == {
        "sender": None,
        "name": None,
        "reply_to": [],
        "problems": ["the mail has no From header"],
    }
    bad = read("From: Acme <not-an-address>\nReply-To: nobody")
    assert bad["sender"] is None and bad["name"] is None and bad["reply_to"] == []
    assert bad["problems"] == [
        "From: 'Acme <not-an-address>' is not an e-mail address",
        "Reply-To: 'nobody' is not an e-mail address",
    ]


def test_one_address_is_read_bare_or_with_a_name_and_anything_else_is_named() -> None:
    assert str(mailbox("Acme Ltd <a@acme.example>")) == "Acme Ltd <a@acme.example>"
    assert str(mailbox("=?utf-8?q?M=C3=BCller=2C_Hans?= <h@m.example>")) == (
        '"Müller, Hans" <h@m.example>'
    )
    assert mailbox(" a@acme.example ").address == "a@acme.example"
    with pytest.raises(ValueError, match="'a@x.example, b@x.example' names 2 e-mail addresses"):
        mailbox("a@x.example, b@x.example")
    with pytest.raises(ValueError, match="holds a line break"):
        mailbox("a@x.example\r\nBcc: everyone@x.example")
    with pytest.raises(ValueError, match="'Acme <a@localhost>' is not an e-mail address"):
        mailbox("Acme <a@localhost>")


async def test_a_mail_through_the_trigger_reports_the_address_and_the_ledger_the_name(
    start_runtime: StartRuntime, mail_server: MailDevServer, mailbox: str
) -> None:
    runtime = await start_runtime(workers=1)
    send_mail(
        mail_server,
        mailbox,
        subject="Invoice 99",
        sender="=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@mueller.example>",
    )
    assert await poll(runtime, MailPoller(mail_server.imap_settings(mailbox))) == 1
    [item] = await runtime.storage.list_intake(source="mail")
    assert item.summary == {
        "sender": "hans@mueller.example",
        "sender_name": "Müller, Hans",
        "subject": "Invoice 99",
    }
    run = await runtime.wait_for_run(item.run_id)
    assert run.output is not None and run.output["report"]["sender"] == "hans@mueller.example"
    intake = run.kwargs["input"]["intake"]
    assert intake["sender_name"] == "Müller, Hans" and intake["address_problems"] == []


async def test_send_email_takes_display_names_and_refuses_a_malformed_one_by_name(
    storage: Storage, mail_server: MailDevServer, mailbox: str
) -> None:
    mailer = Mailer(mail_server.smtp_settings("AP Team <ap@buyer.example>"), ServerStore(storage))
    [tool] = mail_tools(mailer)
    sent = await tool.ainvoke(
        {
            # (a comma inside the name: see test_one_address_...; the dev server would split
            # To on it when it delivers)
            "to": [f"Acme Billing <{mailbox}>"],
            "subject": "Invoice 17 approved",
            "body": "Paid.",
            "idempotency_key": "invoice-17:named",
        }
    )
    assert sent["to"] == [f"Acme Billing <{mailbox}>"]
    assert sent["message_id"].endswith("@buyer.example>")
    [raw] = inbox_messages(mail_server, mailbox)
    got = parse_mail(raw, key="x", received_at=NOW)
    assert (got.sender, got.sender_name) == ("ap@buyer.example", "AP Team")

    with pytest.raises(ValidationError, match="'Acme <acme>' is not an e-mail address"):
        SendEmail(to=["Acme <acme>"], subject="A", body="a", idempotency_key="notice-0004")
    send = mail_tools(mailer)[0].coroutine
    assert send is not None
    with pytest.raises(InvalidInput, match="send_email: to.0.*'Acme <acme>' is not an e-mail"):
        await send(to=["Acme <acme>"], subject="A", body="a", idempotency_key="notice-0005")


async def test_tls_against_a_plain_server_names_the_setting_to_change(
    storage: Storage, mail_server: MailDevServer, mailbox: str
) -> None:
    imap = mail_server.imap_settings(mailbox, tls="ssl")
    with pytest.raises(ConnectorUnavailable, match=r"tls='ssl'.*set `mail\.imap\.tls`"):
        await asyncio.to_thread(ImapSession(imap).open)
    starttls = mail_server.imap_settings(mailbox, tls="starttls")
    with pytest.raises(ConnectorRejected, match=r"tls='starttls'.*set `mail\.imap\.tls`"):
        await asyncio.to_thread(ImapSession(starttls).open)

    quick = RetryPolicy(attempts=1, backoff=0.01)
    mail = SendEmail(to=[mailbox], subject="A", body="a", idempotency_key="notice-0006")
    for tls, default in (("starttls", r" \(the default\)"), ("ssl", "")):
        smtp = mail_server.smtp_settings("ap@buyer.example", tls=tls)
        with pytest.raises(
            ConnectorRejected, match=rf"tls='{tls}'{default}.*set `mail\.smtp\.tls`"
        ):
            await Mailer(smtp, ServerStore(storage), retry=quick).send(mail)
    assert inbox_messages(mail_server, mailbox) == []


def test_an_invoice_trigger_without_reviewers_is_named_once_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reviewed = {"configurable": {"invoice_policy": {"reviewers": ["ap@example.org"]}}}
    path = tmp_path / "connectors.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "mail": {"imap": {"host": "imap.example.org", "user": "i@x.org", "password": "p"}},
                "folders": {"scans": {"path": str(tmp_path)}, "faxes": {"path": str(tmp_path)}},
                "triggers": {
                    "mail": "invoice_approval",
                    "folder:scans": {"assistant": "invoice_approval", "config": reviewed},
                    "folder:faxes": "intake_report",
                },
            }
        )
    )
    caplog.set_level(logging.WARNING, logger="tools.config")
    assert len(load_connectors_config(path).build_triggers()) == 3
    assert [r.getMessage() for r in caplog.records] == [
        "trigger mail runs invoice_approval without reviewers: invoices that wait for a person "
        "are mailed to nobody; set triggers.mail.config.configurable.invoice_policy.reviewers in "
        "the connectors config"
    ]
