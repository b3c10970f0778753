"""A seeded demo Tryton on SQLite: build it once, copy it, serve it on a loopback port.

The database holds one company (EUR, the English chart of accounts, a 20 % input VAT, this
year's fiscal year and periods, a manual payment journal), three suppliers, seven products (two
bought with VAT) and seven confirmed purchase orders, some received in full, some in part, two
not at all (see `_seed.py`). Five take Tryton's default invoice method (`order`: Tryton drafts
their supplier invoices on confirmation), one `fulfillment` (drafts for what is received) and
one `manual` (no drafts).

    facts = ensure_demo(Path("/tmp/tryton"))         # ~1 minute the first time: installs modules
    with DemoServer(Path("/tmp/tryton")) as server:  # a `trytond` WSGI process
        print(server.url, facts.rest_key)

A built directory records the seed version it was built with (a digest of the seeding code and
trytond's version); `ensure_demo` rebuilds one built by other code instead of serving it.

`add_orders` confirms more purchase orders in a built demo (before it is served), for callers
that need more open quantity than the seeded orders leave.
"""

from __future__ import annotations

import json
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict, TypeAdapter

from tools.tryton_demo._process import CONFIG_FILE, DATABASE, INFO_FILE, write_config
from tools.tryton_demo._seed import InvoiceMethod, Order, OrderLine, receive_goods
from tools.tryton_demo._version import seed_version

__all__ = [
    "DemoFacts",
    "DemoServer",
    "InvoiceMethod",
    "Order",
    "OrderLine",
    "add_orders",
    "add_payment_journal",
    "build_demo",
    "copy_demo",
    "ensure_demo",
    "is_current",
    "load_facts",
    "receive_goods",
    "seed_version",
]

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class DemoFacts(BaseModel):
    """What the seeding made, by id: enough to point a TrytonSettings at it."""

    model_config = ConfigDict(frozen=True)

    database: str
    seed_version: str
    company: int
    payment_journal: int
    supplier_vat: int  # the account.tax on the VAT products' purchase lines
    suppliers: dict[str, int]  # party code -> id
    purchases: list[str]  # purchase order numbers
    invoice_methods: dict[str, str] = {}  # purchase order number -> Tryton's invoice method
    rest_key: str


def build_demo(directory: Path, *, timeout: float = 600) -> DemoFacts:
    """Create and seed the demo database in `directory` (in a separate process)."""
    directory.mkdir(parents=True, exist_ok=True)
    _in_own_process(
        "build", str(directory), doing=f"seeding Tryton in {directory}", timeout=timeout
    )
    return load_facts(directory)


def _in_own_process(*args: str, doing: str, timeout: float, stdin: str | None = None) -> str:
    """Run `python -m tools.tryton_demo ARGS` and return what it printed.

    trytond keeps its configuration and pools per process, so each change to a demo database
    runs in a process of its own; `doing` names the change in the error that carries its stderr.
    """
    completed = subprocess.run(
        [sys.executable, "-m", "tools.tryton_demo", *args],
        cwd=_PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{doing} failed:\n{completed.stderr[-4000:]}")
    return completed.stdout


def is_current(directory: Path) -> bool:
    """Whether `directory` holds a demo built by this seed version."""
    info = directory / INFO_FILE
    return info.exists() and json.loads(info.read_text()).get("seed_version") == seed_version()


def ensure_demo(directory: Path, *, timeout: float = 600) -> DemoFacts:
    """The demo built in `directory`, built (again) unless it is there from this seed version."""
    if is_current(directory):
        return load_facts(directory)
    # Built by other seeding code (or half built): its records may not be what the code expects.
    (directory / f"{DATABASE}.sqlite").unlink(missing_ok=True)
    (directory / INFO_FILE).unlink(missing_ok=True)
    return build_demo(directory, timeout=timeout)


def add_orders(
    directory: Path,
    orders: Sequence[Order],
    *,
    invoice_method: InvoiceMethod | None = None,
    timeout: float = 600,
) -> list[str]:
    """Confirm `orders` in the built demo in `directory` (in a separate process, while no
    server serves it); return their numbers, which demo.json's `purchases` now ends with.

    `invoice_method` applies to every order given; by default each order keeps its own, and
    an order without one takes Tryton's default (`order`, from its purchase configuration).
    """
    if invoice_method is not None:
        orders = [replace(order, invoice_method=invoice_method) for order in orders]
    printed = _in_own_process(
        "orders",
        str(directory),
        doing=f"adding {len(orders)} purchase orders to {directory}",
        timeout=timeout,
        stdin=TypeAdapter(list[Order]).dump_json(list(orders)).decode(),
    )
    return printed.split()


def add_payment_journal(directory: Path, name: str, *, timeout: float = 600) -> int:
    """Add a payment journal called `name` in the company's currency to the built demo in
    `directory` (while no server serves it), as a company paying from a second bank; its id."""
    printed = _in_own_process(
        "journal",
        str(directory),
        name,
        doing=f"adding payment journal {name!r} to {directory}",
        timeout=timeout,
    )
    return int(printed.split()[-1])


def load_facts(directory: Path) -> DemoFacts:
    """Read what `build_demo` recorded in `directory`."""
    return DemoFacts.model_validate_json((directory / INFO_FILE).read_text())


def copy_demo(source: Path, target: Path) -> DemoFacts:
    """Copy a built demo to `target` (a fresh database to change freely)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / f"{DATABASE}.sqlite", target / f"{DATABASE}.sqlite")
    shutil.copy2(source / INFO_FILE, target / INFO_FILE)
    write_config(target)
    return load_facts(target)


class DemoServer:
    """Serve a built demo directory with trytond's WSGI app in a child process."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not (directory / CONFIG_FILE).exists():
            raise FileNotFoundError(f"{directory} holds no demo Tryton; run build_demo first")
        self.directory = directory
        self.host = host
        self.port = port
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60) -> str:
        """Start the server and return its base URL once it listens."""
        log = (self.directory / "server.log").open("w")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.tryton_demo",
                "serve",
                str(self.directory),
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            cwd=_PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        assert self._process.stdout is not None
        # The server prints its URL once it listens; nothing printed in time means it hangs.
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        line = self._process.stdout.readline() if ready else ""
        match = re.search(r"http://\S+", line)
        if not match:
            self.stop()
            log_text = (self.directory / "server.log").read_text()[-4000:]
            raise RuntimeError(f"the demo Tryton did not start:\n{line}{log_text}")
        self.url = match.group(0)
        return self.url

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 seconds)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
