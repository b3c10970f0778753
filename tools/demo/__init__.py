"""The demo `make run` serves: a seeded Tryton, a local mail server, and sample invoices mailed in.

`agent-ops serve` with `AGENT_OPS_DEMO=true` calls `Demo.start` before it starts (which points
the connectors config at the demo's systems) and `Demo.mail_samples` once it listens. The
Tryton database is seeded into `<demo_dir>/tryton-seed` (about a minute, again only when the
seeding code changed: the seed version is kept with it) and copied fresh
on every start, as are the agent-ops database (unless one is configured) and the mailboxes, so
each start shows the same story from the beginning.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import smtplib
import socket
import threading
import time
from pathlib import Path

import httpx
import yaml

from agent_ops.settings import Settings
from tools.demo._samples import INBOX, REVIEWERS, Sample, samples
from tools.mail.devserver import DEFAULT_PASSWORD, MailDevServer
from tools.tryton_demo import DemoFacts, DemoServer, copy_demo, ensure_demo, is_current

__all__ = ["INBOX", "Demo", "Sample", "samples"]

log = logging.getLogger("agent_ops.demo")
TRYTON_PORT, IMAP_PORT, SMTP_PORT = 8124, 4143, 4025


def _free(port: int) -> int:
    """`port` if nothing listens on it, else 0 (any free port)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


class Demo:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.tryton: DemoServer | None = None
        self.mail: MailDevServer | None = None
        self.threads: list[str] = []  # the sample runs' threads, once known

    def start(self, settings: Settings) -> Settings:
        """Bring up Tryton and mail; return the settings pointed at them."""
        for chatty in ("mail.log", "mail_devel", "pymap"):  # every SMTP line at INFO otherwise
            logging.getLogger(chatty).setLevel(logging.WARNING)
        seed = self.directory / "tryton-seed"
        if not is_current(seed):
            log.info("demo: seeding Tryton into %s (once per seed version; about a minute)", seed)
        ensure_demo(seed)
        work = self.directory / "tryton"
        shutil.rmtree(work, ignore_errors=True)
        facts = copy_demo(seed, work)
        self.tryton = DemoServer(work, port=_free(TRYTON_PORT))
        tryton_url = self.tryton.start()
        self.mail = MailDevServer(imap_port=_free(IMAP_PORT), smtp_port=_free(SMTP_PORT)).start()
        config = self.directory / "connectors.yaml"
        config.write_text(yaml.safe_dump(self._connectors(tryton_url, facts)))
        log.info(
            "demo: Tryton %s (database %s), IMAP 127.0.0.1:%d and SMTP 127.0.0.1:%d "
            "(any address, password %s; review requests go to %s), connectors config %s",
            tryton_url,
            facts.database,
            self.mail.imap_port,
            self.mail.smtp_port,
            DEFAULT_PASSWORD,
            REVIEWERS,
            config,
        )
        update: dict[str, object] = {"connectors_config": config}
        if "database_url" not in settings.model_fields_set:
            database = self.directory / "agent-ops.db"
            for stale in self.directory.glob("agent-ops.db*"):
                stale.unlink()
            update["database_url"] = f"sqlite:///{database}"
        return settings.model_copy(update=update)

    def _connectors(self, tryton_url: str, facts: DemoFacts) -> dict[str, object]:
        assert self.mail is not None
        return {
            "tryton": {
                "url": tryton_url,
                "database": facts.database,
                "api_key": facts.rest_key,
                "company": facts.company,
            },
            "mail": {
                "imap": self.mail.imap_settings(INBOX, poll_seconds=1.0).model_dump(mode="json")
                | {"password": DEFAULT_PASSWORD},
                "smtp": self.mail.smtp_settings(INBOX).model_dump(mode="json"),
            },
            "triggers": {
                "mail": {
                    "assistant": "invoice_approval",
                    "config": {"configurable": {"invoice_policy": {"reviewers": [REVIEWERS]}}},
                }
            },
        }

    def mail_samples(self, server_url: str, *, timeout: float = 120.0) -> threading.Thread:
        """Mail the samples in (in a thread): the duplicate once the first one has finished."""
        thread = threading.Thread(
            target=self._mail_samples, args=(server_url, timeout), name="demo-mail", daemon=True
        )
        thread.start()
        return thread

    def _mail_samples(self, server_url: str, timeout: float) -> None:
        try:
            batch = samples(dt.date.today())
            for sample in (s for s in batch if not s.after_first):
                self._send(sample)
            self._wait_first_done(server_url, timeout)
            for sample in (s for s in batch if s.after_first):
                self._send(sample)
            log.info(
                "demo: samples mailed; pending approvals: POST %s/threads/search "
                '{"status": "interrupted"}',
                server_url,
            )
        except Exception:  # the demo's own failure must not take the server down
            log.exception("demo: mailing the sample invoices failed")

    def _send(self, sample: Sample) -> None:
        assert self.mail is not None
        with smtplib.SMTP("127.0.0.1", self.mail.smtp_port, timeout=10) as smtp:
            smtp.send_message(sample.message)
        log.info(
            "demo: mailed %s (%s): expect %s", sample.message["Subject"], sample.name, sample.expect
        )

    def _wait_first_done(self, server_url: str, timeout: float) -> None:
        """Wait until the first mail's run has left `pending`/`running`."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=server_url, timeout=10) as client:
            while time.monotonic() < deadline:
                items = client.get("/intake", params={"source": "mail"}).json()
                first = min(items, key=lambda item: item["created_at"], default=None)
                if first is not None:
                    run = client.get(f"/threads/{first['thread_id']}/runs/{first['run_id']}").json()
                    if run["status"] not in ("pending", "running"):
                        return
                time.sleep(0.5)
        log.warning("demo: the first sample did not finish within %.0f s", timeout)

    def stop(self) -> None:
        if self.mail is not None:
            self.mail.stop()
            self.mail = None
        if self.tryton is not None:
            self.tryton.stop()
            self.tryton = None
