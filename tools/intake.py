"""The input a trigger gives a run: `{"intake": IntakePayload}`, one e-mail or one file.

Graphs read it back with `IntakePayload.model_validate(state["intake"])`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class IntakeDocument(BaseModel):
    """An attachment or a file, as base64 so the run input stays JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str
    media_type: str
    data_b64: str

    @classmethod
    def from_bytes(cls, filename: str, media_type: str, data: bytes) -> IntakeDocument:
        return cls(
            filename=filename, media_type=media_type, data_b64=base64.b64encode(data).decode()
        )

    def data(self) -> bytes:
        """Return the document's bytes."""
        return base64.b64decode(self.data_b64)


class IntakePayload(BaseModel):
    """One item a trigger took in. A mail without attachment still comes in, with its body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["mail", "folder"]
    key: str
    """The ledger key: `mailbox/uidvalidity/uid` for mail, the file's sha256 for a folder."""
    sender: str | None = None
    """The sender's bare address (`From`), None when the mail had none that can be mailed."""
    sender_name: str | None = None
    """The display name of `From` (RFC 2047 encoded words decoded), for people to read."""
    reply_to: list[str] = []
    """The `Reply-To` addresses: where answers go instead of `sender` when there are any."""
    address_problems: list[str] = []
    """What could not be read from `From` and `Reply-To`, each naming the header and value."""
    subject: str | None = None
    received_at: datetime
    body: str | None = None
    documents: list[IntakeDocument] = []
    message_id: str | None = None
    """The mail's Message-ID (reply threading, idempotency keys); None for a file."""

    def as_input(self) -> dict[str, object]:
        """Return the payload as JSON-ready values (ISO dates)."""
        return self.model_dump(mode="json")
