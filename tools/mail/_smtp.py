"""SMTP out: `Mailer.send` and the `send_email` tool, idempotent by key, through an outbox.

Each mail's idempotency key names an outbox entry in the store, written before the mail is handed
to the SMTP server (`sending`: its Message-ID and Date fixed there) and marked `sent` once the
server accepted it. A retried or resumed send of a `sent` key returns the first result and sends
nothing. A `sending` entry means a sender died (or lost the connection) between handing the mail
over and recording the answer, so the mail may or may not have left: it is sent again, byte for
byte the same headers (Message-ID, Date), and recorded as `resent`. Delivery is therefore at least
once, and a repeat can only ever be the same message, which receivers that deduplicate by
Message-ID (mail clients, most MTAs and archives) show once; exactly once is not something SMTP
offers. A mail the server refused, or that never left (the server unreachable), leaves no entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from langchain_core.tools import BaseTool
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ops.errors import (
    Conflict,
    ConnectorRejected,
    ConnectorUnavailable,
    InvalidInput,
    validation_text,
)
from agent_ops.governance.tools import guarded
from tools.connector import (
    IdempotencyKey,
    RetryPolicy,
    TransientFailure,
    connector_tool,
    with_retries,
)
from tools.mail._address import Address
from tools.mail._settings import SmtpSettings, tls_hint

SENT_NAMESPACE = ("connectors", "mail", "sent")


class SendEmail(BaseModel):
    """Send one plain-text e-mail (a notification, an approval request, a reply)."""

    model_config = ConfigDict(extra="forbid")

    to: list[Address] = Field(min_length=1, description="recipient addresses")
    subject: str = Field(min_length=1, max_length=998)
    body: str
    idempotency_key: IdempotencyKey
    in_reply_to: str | None = Field(None, description="Message-ID of the mail this answers")


class SentMail(BaseModel):
    """What `send_email` returns: the mail's Message-ID and whether this call sent it."""

    message_id: str
    to: list[str]
    subject: str
    sent_at: datetime
    already_sent: bool = False
    # Sent again because an earlier send of the key may have gone out unrecorded (a crash).
    resent: bool = False


class Mailer:
    """Sends mail through one SMTP server and remembers each idempotency key in `store`."""

    def __init__(
        self, settings: SmtpSettings, store: BaseStore, *, retry: RetryPolicy | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.retry = retry or RetryPolicy()
        self.url = f"smtp://{settings.host}:{settings.port}"

    async def send(self, mail: SendEmail) -> SentMail:
        """Send `mail` once per idempotency key; a repeat returns the first send's result.

        Only where the run's graph may send mail (the tool permissions' door)."""
        return await guarded(
            "smtp",
            "send_email",
            lambda: self._send(mail),
            payload=mail,
            key=mail.idempotency_key,
        )

    async def _send(self, mail: SendEmail) -> SentMail:
        key = mail.idempotency_key
        known = await self.store.aget(SENT_NAMESPACE, key)
        entry = dict(known.value) if known is not None else None
        if entry is not None:
            if (entry["to"], entry["subject"]) != (mail.to, mail.subject):
                raise Conflict(
                    f"idempotency key {key!r} already sent a mail to {entry['to']} with "
                    f"subject {entry['subject']!r}; use a new key for another mail"
                )
            if entry.get("state", "sent") == "sent":  # entries written before the outbox: sent
                return SentMail.model_validate({**entry, "already_sent": True})
        resent = entry is not None
        if entry is None:
            entry = {
                "state": "sending",
                "message_id": self._message_id(key),
                "to": mail.to,
                "subject": mail.subject,
                "sent_at": datetime.now(UTC).isoformat(),
            }
            await self.store.aput(SENT_NAMESPACE, key, entry, index=False)
        message = self._message(mail, entry["message_id"], datetime.fromisoformat(entry["sent_at"]))
        try:
            connection = await with_retries(
                lambda: asyncio.to_thread(self._deliver, message), effect="write", policy=self.retry
            )
        except TransientFailure as exc:  # nothing left: the server was never reached
            await self.store.adelete(SENT_NAMESPACE, key)
            raise ConnectorUnavailable(
                f"SMTP server {self.settings.host}:{self.settings.port} cannot be reached: {exc}",
                system="smtp",
                url=self.url,
            ) from exc
        except ConnectorRejected:  # refused: the server did not take the mail
            await self.store.adelete(SENT_NAMESPACE, key)
            raise
        sent = SentMail(
            message_id=entry["message_id"],
            to=mail.to,
            subject=mail.subject,
            sent_at=datetime.fromisoformat(entry["sent_at"]),
            resent=resent,
        )
        record = {**sent.model_dump(mode="json"), "state": "sent"}
        try:
            await self.store.aput(SENT_NAMESPACE, key, record, index=False)
        finally:
            # QUIT only after the record: a crash between the server's accept and the record is
            # the one window in which a resumed send repeats the mail, so it is kept short.
            await asyncio.to_thread(_hang_up, connection)
        return sent

    def _message_id(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        domain = parseaddr(self.settings.sender)[1].rsplit("@", 1)[-1] or "agent-ops.invalid"
        return f"<{digest}@{domain}>"

    def _message(self, mail: SendEmail, message_id: str, date: datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(mail.to)
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(date)
        message["Message-ID"] = message_id
        if mail.in_reply_to:
            message["In-Reply-To"] = mail.in_reply_to
            message["References"] = mail.in_reply_to
        message.set_content(mail.body)
        return message

    def _deliver(self, message: EmailMessage) -> smtplib.SMTP:
        """Send over one connection (blocking); classify failures by whether the mail left. The
        connection is returned open once the server accepted the mail (`_hang_up` closes it)."""
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.tls == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        except ssl.SSLError as exc:  # a setting to change, not a server to wait for
            raise ConnectorRejected(
                f"SMTP server {s.host}:{s.port} cannot be reached: {exc}"
                f"{tls_hint('mail.smtp', s.tls)}",
                system="smtp",
                url=self.url,
            ) from exc
        except OSError as exc:  # refused, unresolvable, or no greeting: nothing was sent
            raise TransientFailure(f"{type(exc).__name__}: {exc}", sent=False) from exc
        try:
            self._converse(client, message)
        except BaseException:
            client.close()
            raise
        return client

    def _converse(self, client: smtplib.SMTP, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.tls == "starttls":
                try:
                    client.starttls(context=ssl.create_default_context())
                except (smtplib.SMTPNotSupportedError, ssl.SSLError) as exc:
                    raise ConnectorRejected(
                        f"SMTP server {s.host}:{s.port} cannot be reached: "
                        f"{str(exc).rstrip('.')}{tls_hint('mail.smtp', s.tls)}",
                        system="smtp",
                        url=self.url,
                    ) from exc
            if s.user is not None and s.password is not None:
                client.login(s.user, s.password.get_secret_value())
            client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            reason = error.decode(errors="replace") if isinstance(error, bytes) else error
            raise ConnectorRejected(
                f"SMTP server {s.host}:{s.port} refused the mail: {exc.smtp_code} {reason}",
                system="smtp",
                url=self.url,
                status=exc.smtp_code,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise ConnectorRejected(
                f"SMTP server {s.host}:{s.port} refused every recipient: "
                f"{', '.join(exc.recipients)}",
                system="smtp",
                url=self.url,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectorUnavailable(
                f"SMTP server {s.host}:{s.port} failed during the send (the mail may have "
                f"gone out; repeat with the same idempotency key): {exc}",
                system="smtp",
                url=self.url,
            ) from exc


def _hang_up(connection: smtplib.SMTP) -> None:
    """Say QUIT and close; the mail was accepted already, so a failure here changes nothing."""
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def mail_tools(mailer: Mailer) -> list[BaseTool]:
    """The mail connector's LangChain tools: `send_email` (side-effecting, idempotent by key)."""

    async def send_email(
        to: list[str],
        subject: str,
        body: str,
        idempotency_key: str,
        in_reply_to: str | None = None,
    ) -> dict[str, object]:
        try:
            mail = SendEmail(
                to=to,
                subject=subject,
                body=body,
                idempotency_key=idempotency_key,
                in_reply_to=in_reply_to,
            )
        except ValidationError as exc:
            raise InvalidInput(f"send_email: {validation_text(exc)}") from exc
        return (await mailer.send(mail)).model_dump(mode="json")

    return [
        connector_tool(
            send_email,
            name="send_email",
            description=(
                "Send a plain-text e-mail. Repeating a call with the same idempotency_key "
                "returns the first mail instead of sending another."
            ),
            args_schema=SendEmail,
            effect="write",
            system="smtp",
        )
    ]
