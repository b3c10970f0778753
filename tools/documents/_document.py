"""The document an invoice is read from, as it travels in a run's input: a file or a text."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_ops.errors import InvalidInput

PDF = "application/pdf"
XML = "application/xml"
TEXT = "text/plain"


class Document(BaseModel):
    """One file (its bytes, base64) or one text (an e-mail body); JSON all the way through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(description="the name it arrived under, e.g. `INV-1042.pdf`")
    media_type: str = Field(description="MIME type, e.g. application/pdf, application/xml")
    data_b64: str | None = Field(default=None, description="the file's bytes, base64")
    text: str | None = Field(default=None, description="plain text (an e-mail body)")

    @model_validator(mode="after")
    def _one_body(self) -> Document:
        if (self.data_b64 is None) == (self.text is None):
            raise ValueError(f"document {self.filename!r} needs exactly one of data_b64 or text")
        return self

    @classmethod
    def from_bytes(cls, data: bytes, filename: str, media_type: str | None = None) -> Document:
        """Wrap a file's bytes; the media type is guessed from the name when not given."""
        return cls(
            filename=filename,
            media_type=media_type or guess_media_type(filename),
            data_b64=base64.b64encode(data).decode("ascii"),
        )

    @classmethod
    def from_path(cls, path: Path, media_type: str | None = None) -> Document:
        """Read a file from disk."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read document {path}: {exc.strerror}") from None
        return cls.from_bytes(data, path.name, media_type)

    @classmethod
    def from_text(cls, text: str, filename: str = "message.txt") -> Document:
        """Wrap a plain text, such as the body of an e-mail."""
        return cls(filename=filename, media_type=TEXT, text=text)

    def data(self) -> bytes:
        """The file's bytes (a text document gives its UTF-8 encoding)."""
        if self.text is not None:
            return self.text.encode("utf-8")
        assert self.data_b64 is not None
        try:
            return base64.b64decode(self.data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                f"document {self.filename!r}: data_b64 is not valid base64"
            ) from None


def guess_media_type(filename: str) -> str:
    """The MIME type a file name suggests; unknown names are application/octet-stream."""
    lowered = filename.lower()
    if lowered.endswith(".xml"):
        return XML
    guessed, _ = mimetypes.guess_type(lowered)
    return guessed or "application/octet-stream"
