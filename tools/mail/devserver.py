"""A local IMAP + SMTP server for tests and the demo: mail-devel (pymap and aiosmtpd), in memory.

Every address is its own account (mail-devel's multi-user mode): mail sent to
`invoices@example.org` lands in that account's INBOX, and any account logs in with the one
password. Plain text on loopback only; never for production.

    python -m tools.mail.devserver --imap-port 4143 --smtp-port 4025
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import threading
from types import TracebackType

from tools.mail._settings import ImapSettings, SmtpSettings

DEFAULT_PASSWORD = "agent-ops"


class MailDevServer:
    """mail-devel in a thread with its own event loop; `with MailDevServer() as server: ...`.

    Port 0 picks a free loopback port (for tests); give fixed ports for the demo.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        imap_port: int = 0,
        smtp_port: int = 0,
        password: str = DEFAULT_PASSWORD,
    ) -> None:
        self.host = host
        self.imap_port = imap_port or free_port(host)
        self.smtp_port = smtp_port or free_port(host)
        self.password = password
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self, timeout: float = 20.0) -> MailDevServer:
        """Start serving; return once both ports accept connections."""
        self._thread = threading.Thread(target=self._serve, name="mail-devserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the mail dev server did not start within {timeout}s")
        if self._failure is not None:
            raise RuntimeError(f"the mail dev server failed to start: {self._failure}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> MailDevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def imap_settings(self, user: str, **overrides: object) -> ImapSettings:
        """Settings that read `user`'s mailbox on this server."""
        values = self._plain(self.imap_port, user=user, password=self.password, poll_seconds=0.2)
        return ImapSettings.model_validate(values | overrides)

    def smtp_settings(self, sender: str, **overrides: object) -> SmtpSettings:
        """Settings that send through this server as `sender`."""
        return SmtpSettings.model_validate(self._plain(self.smtp_port, sender=sender) | overrides)

    def _plain(self, port: int, **values: object) -> dict[str, object]:
        # Both protocols talk to this server in the clear, with a short timeout for tests.
        return {"host": self.host, "port": port, "tls": "none", "timeout_seconds": 5.0, **values}

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(), which raises it in the caller
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        from mail_devel.service import Service

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        args = Service.parse(
            [
                "--host",
                self.host,
                "--imap-port",
                str(self.imap_port),
                "--smtp-port",
                str(self.smtp_port),
                "--no-http",
                "--multi-user",
                "--password",
                self.password,
            ]
        )
        service = await Service.init(args)
        try:
            async with service.start():
                self._ready.set()
                await self._stop.wait()
        finally:
            if service.smtp is not None:
                with contextlib.suppress(AssertionError):  # never started: nothing to stop
                    service.smtp.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that was free a moment ago (the OS rarely hands it out again that fast)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mail.devserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--imap-port", type=int, default=4143)
    parser.add_argument("--smtp-port", type=int, default=4025)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = MailDevServer(
        host=args.host, imap_port=args.imap_port, smtp_port=args.smtp_port, password=args.password
    )
    server.start()
    print(
        f"mail dev server: IMAP {args.host}:{server.imap_port}, SMTP {args.host}:{server.smtp_port}"
        f" (any address, password {args.password!r}); Ctrl-C stops it",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
