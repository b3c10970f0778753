"""Mail connector settings: where to read mail (IMAP) and how to send it (SMTP)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Tls = Literal["ssl", "starttls", "none"]
"""`ssl`: TLS from the first byte (IMAPS 993, SMTPS 465); `starttls`: upgrade a plain connection;
`none`: plain text (loopback test servers only)."""


class ImapSettings(BaseModel):
    """One mailbox whose new mail starts runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(993, ge=1, le=65535)
    tls: Tls = "ssl"
    user: str
    password: SecretStr
    mailbox: str = "INBOX"
    processed_folder: str = Field("Processed", description="taken-in mail is moved here")
    poll_seconds: float = Field(30.0, gt=0)
    timeout_seconds: float = Field(30.0, gt=0, description="per IMAP command")
    move: Literal["auto", "copy"] = Field(
        "auto",
        description="auto: MOVE when the server offers it; copy: COPY, flag \\Deleted, expunge",
    )


class SmtpSettings(BaseModel):
    """The server notifications and approval requests are sent through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(587, ge=1, le=65535)
    tls: Tls = "starttls"
    user: str | None = None
    password: SecretStr | None = None
    sender: str = Field(description="the From address, bare or `Name <address>`")
    timeout_seconds: float = Field(30.0, gt=0)


class MailSettings(BaseModel):
    """The `mail` section of the connectors config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None


def tls_hint(section: str, tls: Tls) -> str:
    """The sentence naming the setting to change, for an error met while setting up TLS.

    A plain local server (a dev server, a relay on loopback) answers a TLS handshake with its
    greeting, which the TLS layer reads as a wrong version, or offers no STARTTLS: the fix is a
    setting, so say which, with its value.
    """
    other = "STARTTLS or plain text" if tls == "ssl" else "TLS from the first byte or plain text"
    default = " (the default)" if tls == _DEFAULT_TLS[section] else ""
    fix = "starttls or none" if tls == "ssl" else "ssl or none"
    return (
        f"; TLS failed with tls={tls!r}{default}: if the server speaks {other} on this port, "
        f"set `{section}.tls` to {fix} in the connectors config (none only on loopback)"
    )


_DEFAULT_TLS: dict[str, Tls] = {"mail.imap": "ssl", "mail.smtp": "starttls"}
