"""A raw e-mail (RFC 5322, MIME) to the intake payload: sender, subject, text body, attachments.

The sender is read as a mail client reads it: the address of `From` (where the outcome goes,
unless `Reply-To` names other addresses) apart from its display name (what a reviewer reads).
"""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from tools.intake import IntakeDocument, IntakePayload
from tools.mail._address import header_mailboxes


def parse_mail(raw: bytes, *, key: str, received_at: datetime) -> IntakePayload:
    """Read a message; every attachment becomes a document, the text part (or HTML) the body."""
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):  # policy.default always builds EmailMessage
        raise TypeError(f"unexpected message class {type(message).__name__}")
    documents = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):  # an attached message: keep it whole
            data = part.as_bytes()
        filename = part.get_filename() or f"attachment-{number}{_suffix(part)}"
        documents.append(IntakeDocument.from_bytes(filename, part.get_content_type(), data))
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else None
    senders, problems = header_mailboxes(message, "From")
    reply_to, unreadable = header_mailboxes(message, "Reply-To")
    problems = [f"From: {p}" for p in problems] + [f"Reply-To: {p}" for p in unreadable]
    if message.get("From") is None:
        problems.append("the mail has no From header")
    if len(senders) > 1:  # RFC 5322 allows it (with a Sender); the first is the author we answer
        problems.append(
            f"From names {len(senders)} addresses; {senders[0].address} is taken as the sender"
        )
    return IntakePayload(
        kind="mail",
        key=key,
        sender=senders[0].address if senders else None,
        sender_name=senders[0].name if senders else None,
        reply_to=[box.address for box in reply_to],
        address_problems=problems,
        subject=_header(message, "Subject"),
        received_at=received_at,
        body=body.strip() if isinstance(body, str) and body.strip() else None,
        documents=documents,
        message_id=_header(message, "Message-ID"),
    )


def _header(message: EmailMessage, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value).strip() or None


def _suffix(part: EmailMessage) -> str:
    return {"message/rfc822": ".eml", "application/pdf": ".pdf", "text/plain": ".txt"}.get(
        part.get_content_type(), ""
    )
