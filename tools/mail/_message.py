"""A raw e-mail (RFC 5322, MIME) to the intake payload: sender, subject, text body, attachments."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from tools.intake import IntakeDocument, IntakePayload


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
    return IntakePayload(
        kind="mail",
        key=key,
        sender=_header(message, "From"),
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
