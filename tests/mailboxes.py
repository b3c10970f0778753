"""Reading a test mailbox over IMAP, as the person behind the address would find it."""

from __future__ import annotations

import email
import imaplib
from email import policy
from email.message import EmailMessage


def inbox_messages(host: str, port: int, user: str, password: str) -> list[EmailMessage]:
    """Every message in `user`'s INBOX, oldest first, parsed."""
    with imaplib.IMAP4(host, port) as box:
        box.login(user, password)
        box.select("INBOX")
        _, data = box.search(None, "ALL")
        found = []
        for number in data[0].split():
            _, parts = box.fetch(number, "(RFC822)")
            message = email.message_from_bytes(parts[0][1], policy=policy.default)  # type: ignore[index]
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found
