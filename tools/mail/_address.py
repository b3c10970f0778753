"""E-mail addresses as vendors write them: `Acme Supplies Ltd <billing@acme.example>`.

Parsed with the standard library's RFC 5322 parser (`email.headerregistry`, policy.default), so
quoted names with commas, RFC 2047 encoded words (`=?utf-8?q?...?=`), several addresses and
groups are read as a mail client reads them. A `Mailbox` keeps the address (where replies go)
apart from the display name (what a person reads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import errors, policy
from email.headerregistry import Address as _HeaderAddress
from email.message import EmailMessage
from typing import Annotated

from pydantic import AfterValidator

_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class Mailbox:
    """One address and its display name (None when the header gave none)."""

    address: str
    name: str | None = None

    def __str__(self) -> str:
        """The header form: `"Müller, Hans" <hans@x.example>`, or the bare address."""
        if not self.name:
            return self.address
        return str(_HeaderAddress(display_name=self.name, addr_spec=self.address))


def usable(address: str) -> bool:
    """Whether a bare address can be mailed: `local@domain.tld`, nothing else in it."""
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain.strip(".") and not any(c in address for c in " <>\t\r\n")


def mailboxes(value: str | None, *, header: str = "To") -> tuple[list[Mailbox], list[str]]:
    """Every address in a header value (groups flattened), and what could not be read.

    Returns the usable mailboxes in order and, for each part that is no usable address, a
    sentence naming it; an empty or missing value gives neither.
    """
    if value is None or not value.strip():
        return [], []
    unfolded = _FOLD.sub(" ", value)
    if "\r" in unfolded or "\n" in unfolded:  # never let a value add a header of its own
        return [], [f"{value!r} holds a line break"]
    try:
        parsed = policy.default.header_factory(header, unfolded)
    except (errors.HeaderParseError, IndexError, ValueError) as exc:  # the parser's rare raises
        return [], [f"{value!r} is not an address list: {exc}"]
    return _collect(parsed, value)


def header_mailboxes(message: EmailMessage, name: str) -> tuple[list[Mailbox], list[str]]:
    """`mailboxes` of a message's header (the first of that name), as the message parsed it."""
    try:
        parsed = message.get(name)
    except (errors.HeaderParseError, IndexError, ValueError) as exc:
        return [], [f"the {name} header is not an address list: {exc}"]
    if parsed is None or not str(parsed).strip():
        return [], []
    return _collect(parsed, str(parsed))


def _collect(parsed: object, value: str) -> tuple[list[Mailbox], list[str]]:
    found: list[Mailbox] = []
    bad: list[str] = []
    for part in getattr(parsed, "addresses", ()):
        if usable(part.addr_spec):
            found.append(Mailbox(part.addr_spec, part.display_name.strip() or None))
        else:
            bad.append(f"{str(part) or value!r} is not an e-mail address")
    if not found and not bad and not getattr(parsed, "groups", ()):
        bad.append(f"{value!r} holds no e-mail address")
    return found, bad


def mailbox(value: str) -> Mailbox:
    """Read exactly one address, bare or `Name <addr>`; ValueError naming the value otherwise."""
    found, bad = mailboxes(value)
    if bad:
        raise ValueError(bad[0] if len(bad) == 1 and not found else f"{value!r}: {bad[0]}")
    if len(found) != 1:
        raise ValueError(f"{value!r} names {len(found)} e-mail addresses, not one")
    return found[0]


def _canonical(value: str) -> str:
    return str(mailbox(value))


Address = Annotated[str, AfterValidator(_canonical)]
"""One e-mail address, bare (`name@domain.tld`) or with a display name (`Acme <a@acme.example>`,
RFC 2047 encoded words allowed); checked, and kept in its canonical header form."""
