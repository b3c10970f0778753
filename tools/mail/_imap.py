"""IMAP in: a blocking session (stdlib imaplib, run in a thread) and the poller built on it.

Each poll opens one session, lists the mailbox's UIDs and takes each message in through the
intake gate under the key `mailbox/UIDVALIDITY/UID`, then moves it to the processed folder (MOVE,
or COPY + \\Deleted + expunge when the server lacks MOVE) and settles it in the ledger. A message
whose key the ledger already has (another poller took it, or this one crashed before moving it)
is only moved, never fetched or started again.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent_ops.errors import ConnectorError, ConnectorRejected, ConnectorUnavailable
from agent_ops.runtime.intake import IntakeGate
from tools.intake import IntakePayload
from tools.mail._message import parse_mail
from tools.mail._settings import ImapSettings, tls_hint

log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapSession:
    """One logged-in IMAP connection; every method blocks, with the settings' timeout."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.url = f"imap://{settings.host}:{settings.port}"
        self._conn: imaplib.IMAP4 | None = None
        self.capabilities: frozenset[str] = frozenset()

    def open(self) -> ImapSession:
        s = self.settings
        try:
            if s.tls == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host,
                    s.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=s.timeout_seconds,
                )
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout_seconds)
        except (OSError, imaplib.IMAP4.abort) as exc:
            hint = tls_hint("mail.imap", s.tls) if isinstance(exc, ssl.SSLError) else ""
            raise self._error(
                ConnectorUnavailable, f"cannot be reached: {exc or type(exc).__name__}{hint}"
            ) from exc
        self._conn = conn
        if s.tls == "starttls":
            try:
                conn.starttls(ssl.create_default_context())
            except (OSError, imaplib.IMAP4.error) as exc:  # a setting to change: not transient
                self.close()
                raise self._error(
                    ConnectorRejected,
                    "cannot be reached: "
                    f"{_text(exc) or type(exc).__name__}{tls_hint('mail.imap', s.tls)}",
                ) from exc
        try:
            conn.login(s.user, s.password.get_secret_value())
            _, caps = conn.capability()
        except (OSError, imaplib.IMAP4.abort) as exc:
            self.close()
            raise self._error(
                ConnectorUnavailable, f"cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        except imaplib.IMAP4.error as exc:
            self.close()
            raise self._error(ConnectorRejected, f"refused user {s.user!r}: {_text(exc)}") from exc
        self.capabilities = frozenset(caps[0].decode().upper().split()) if caps[0] else frozenset()
        return self

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error) as exc:
            log.debug("IMAP logout from %s failed: %s", self.url, exc)

    def select(self, mailbox: str) -> int:
        """Open `mailbox` read-write; return its UIDVALIDITY."""
        self._ok(self._c.select(_quote(mailbox)), f"select mailbox {mailbox!r}")
        _, data = self._c.response("UIDVALIDITY")
        if not data or data[0] is None:
            raise ConnectorRejected(
                f"IMAP server sent no UIDVALIDITY for mailbox {mailbox!r}",
                system="imap",
                url=self.url,
            )
        return int(data[0])

    def uids(self) -> list[int]:
        """Return the UIDs of the selected mailbox's messages not flagged deleted, in order."""
        data = self._ok(self._c.uid("SEARCH", "UNDELETED"), "search the mailbox")
        return sorted(int(u) for u in (data[0] or b"").split())

    def fetch(self, uid: int) -> tuple[bytes, datetime] | None:
        """Return a message's bytes and arrival time without marking it seen; None if gone."""
        data = self._ok(self._c.uid("FETCH", str(uid), "(INTERNALDATE BODY.PEEK[])"), "fetch")
        for entry in data:
            if isinstance(entry, tuple) and len(entry) == 2:
                return entry[1], _arrival(entry[0])
        return None

    def ensure_folder(self, folder: str) -> None:
        """Create `folder` unless it exists (another poller may create it at the same moment)."""
        if self._has_folder(folder):
            return
        status, data = self._c.create(_quote(folder))
        if status != "OK" and not self._has_folder(folder):  # lost a race to create: fine
            self._ok((status, data), f"create folder {folder!r}")

    def _has_folder(self, folder: str) -> bool:
        listed = self._ok(self._c.list('""', _quote(folder)), "list folders")
        return any(item for item in listed if item)

    def move(self, uid: int, folder: str) -> None:
        """Move one message of the selected mailbox to `folder`; a message already gone is fine."""
        if self.settings.move == "auto" and "MOVE" in self.capabilities:
            self._ok(self._c.uid("MOVE", str(uid), _quote(folder)), f"move UID {uid}")
            return
        self._ok(self._c.uid("COPY", str(uid), _quote(folder)), f"copy UID {uid}")
        self._ok(self._c.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "flag deleted")
        if "UIDPLUS" in self.capabilities:  # expunge only this message
            self._ok(self._c.uid("EXPUNGE", str(uid)), f"expunge UID {uid}")
        else:
            self._ok(self._c.expunge(), "expunge")

    @property
    def _c(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise ConnectorUnavailable("IMAP session is closed", system="imap", url=self.url)
        return self._conn

    def _ok(self, reply: tuple[str, Sequence[Any]], what: str) -> list[Any]:
        status, data = reply
        if status != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            raise self._error(ConnectorRejected, f"would not {what}: {status} {detail}".strip())
        return list(data)

    def _error(self, error: type[ConnectorError], what: str) -> ConnectorError:
        """Return an error of this server's: `IMAP server <host>:<port> <what>`."""
        s = self.settings
        return error(f"IMAP server {s.host}:{s.port} {what}", system="imap", url=self.url)


class MailPoller:
    """The `mail` trigger: each new message of the mailbox starts one run."""

    name = "mail"

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.poll_seconds = settings.poll_seconds

    async def poll(self, gate: IntakeGate) -> int:
        session = await _blocking(ImapSession(self.settings).open)
        try:
            return await self._take_in(session, gate)
        finally:
            await asyncio.to_thread(session.close)

    async def _take_in(self, session: ImapSession, gate: IntakeGate) -> int:
        s = self.settings
        await _blocking(session.ensure_folder, s.processed_folder)
        validity = await _blocking(session.select, s.mailbox)
        started = 0
        for uid in await _blocking(session.uids):
            key = f"{s.mailbox}/{validity}/{uid}"
            item = await gate.known(key)
            if item is None:
                fetched = await _blocking(session.fetch, uid)
                if fetched is None:  # another poller moved it meanwhile
                    continue
                raw, arrived = fetched
                payload = parse_mail(raw, key=key, received_at=arrived)
                item, created = await gate.submit(
                    key,
                    payload.as_input(),
                    origin=payload.message_id,
                    summary=_summary(payload),
                )
                started += created
                log.info(
                    "mail %s (%s) %s run %s",
                    key,
                    payload.subject,
                    "started" if created else "already has",
                    item.run_id,
                )
            await _blocking(session.move, uid, s.processed_folder)
            if item.settled_at is None:
                await gate.settle(key)
        return started


async def _blocking(fn: Callable[..., T], *args: object) -> T:
    """Run a blocking IMAP call in a thread; a dropped connection becomes ConnectorUnavailable."""
    try:
        return await asyncio.to_thread(fn, *args)
    except (OSError, imaplib.IMAP4.abort) as exc:
        url = getattr(getattr(fn, "__self__", None), "url", "imap")
        raise ConnectorUnavailable(
            f"IMAP connection to {url} failed: {exc or type(exc).__name__}",
            system="imap",
            url=str(url),
        ) from exc


def _summary(payload: IntakePayload) -> dict[str, str | None]:
    """What the ledger shows of a mail: sender address (and name when it has one), subject."""
    summary = {"sender": payload.sender, "subject": payload.subject}
    if payload.sender_name:
        summary["sender_name"] = payload.sender_name
    return summary


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(exc: BaseException) -> str:
    return str(
        exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
    )


def _arrival(header: bytes) -> datetime:
    """The server's INTERNALDATE of a FETCH response; now if it sent none."""
    parsed = imaplib.Internaldate2tuple(header)
    if parsed is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(time.mktime(parsed), UTC)
