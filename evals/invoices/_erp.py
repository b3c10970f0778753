"""The ERP the cases are checked against: a copy of the seeded demo Tryton, with the eval's own
vendors, products and one confirmed purchase order per case that needs one, then served."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from evals.invoices._cases import Case
from evals.invoices._parties import CATALOGUE, STRANGERS, VENDORS
from tools.tryton import TrytonSettings
from tools.tryton_demo import DemoServer, copy_demo, load_facts

Method = Literal[
    "order", "fulfillment", "manual", "default"
]  # Tryton 7.8+ names; `fulfillment` was `shipment`
_ROOT = Path(__file__).resolve().parents[2]


def plan(cases: list[Case], method: Method) -> dict[str, object]:
    """What the ERP must hold: every known vendor, the catalogue, each case's order."""
    strangers = {v.name for v in STRANGERS}
    orders = [case.order for case in cases if case.order is not None]
    if any(order.vendor in strangers for order in orders):
        raise ValueError("an order with a vendor the ERP must not know")
    return {
        "method": method,
        "vendors": [
            {
                "name": v.name,
                "tax_id": v.tax_id_compact if v.tax_type else v.tax_id,
                "tax_type": v.tax_type,
                "email": v.email,
                "street": v.street,
                "city": v.city,
            }
            for v in VENDORS
        ],
        "products": [{**asdict(p), "price": str(p.price), "step": str(p.step)} for p in CATALOGUE],
        "orders": [order.model_dump(mode="json") for order in orders],
    }


def prepare(
    base: Path, directory: Path, cases: list[Case], method: Method, today: dt.date
) -> dict[str, str]:
    """Copy the demo built in `base` to `directory` and add the cases' records (in a process
    of its own, as trytond's configuration is global); return order reference -> number."""
    copy_demo(base, directory)
    completed = subprocess.run(
        [sys.executable, "-m", "evals.invoices._erp_seed", str(directory), today.isoformat()],
        cwd=_ROOT,
        input=json.dumps(plan(cases, method)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"seeding the eval's records into {directory} failed:\n{completed.stderr[-4000:]}"
        )
    numbers: dict[str, str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return numbers


@contextmanager
def serving(directory: Path) -> Iterator[TrytonSettings]:
    """Serve the prepared copy in `directory` until the context exits."""
    facts = load_facts(directory)
    with DemoServer(directory) as server:
        yield TrytonSettings.model_validate(
            {
                "url": server.url,
                "database": facts.database,
                "api_key": facts.rest_key,
                "company": facts.company,
            }
        )
