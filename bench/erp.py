"""The invoice benchmark's ERP: the demo Tryton with one fresh purchase order line per clean invoice.

A clean invoice is booked against its order line, so a second invoice on the same line would
find less open quantity (or be a duplicate) and stop for review. The bench therefore adds its
own orders to a copy of the demo (every line ordered and received in full, one clean invoice
each), and serves a fresh copy of that to the server and one to the floor, so both start from
the same books.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from tests.invoice.samples import invoice
from tools.tryton import TrytonClient, TrytonSettings
from tools.tryton_demo import DemoServer, Order, OrderLine, add_orders, build_demo, copy_demo

SUPPLIER = "SUP-NWM"  # the seeded supplier the bench's orders are with
VENDOR = "Northwind Metals"  # its name, as its invoices spell it
QUANTITY = 10  # ordered, received and billed per line
REFERENCE = "BENCH-"  # every bench invoice number starts with this
# The seed's stocked products (a service is never received), at the bench orders' prices.
GOODS = (
    ("BOLT-M8", "Steel bolt M8x40", "0.25"),
    ("WIRE-CU25", "Copper wire 2.5 mm2", "1.20"),
    ("GLOVE-NIT", "Nitrile safety gloves", "6.50"),
    ("BOX-60", "Shipping carton 60 cm", "1.05"),
)
PRICE_OVER = Decimal("1.10")  # a mismatched invoice bills 10 % over the order's price


@dataclass(frozen=True)
class OpenLine:
    """An order line with QUANTITY ordered and received and nothing billed yet."""

    po: str
    product: str
    description: str
    unit_price: str

    def invoice(self, number: str, *, mismatched: bool = False) -> dict[str, Any]:
        """An invoice for the whole line (unit price 10 % over the order's if `mismatched`)."""
        price = Decimal(self.unit_price) * (PRICE_OVER if mismatched else 1)
        line = (self.product, self.description, QUANTITY, f"{price:.2f}")
        return invoice(f"{REFERENCE}{number}", self.po, [line], vendor=VENDOR)


@dataclass(frozen=True)
class BenchERP:
    """The seeded demo in `directory` (never served itself): a line for each clean invoice, and
    one the mismatched invoices name (they stop before booking, so it stays open)."""

    directory: Path
    clean: tuple[OpenLine, ...]
    mismatched: OpenLine


def prepare(directory: Path, clean_invoices: int, *, base: Path | None = None) -> BenchERP:
    """Seed the demo into `directory` (or copy the one built in `base`) and add enough orders
    for `clean_invoices` clean invoices, one line each, and a line for the mismatched ones."""
    if base is None:
        build_demo(directory)
    else:
        copy_demo(base, directory)
    orders = [
        Order(
            SUPPLIER,
            f"Q-BENCH-{index}",
            tuple(
                OrderLine(code, QUANTITY, Decimal(price), received=QUANTITY)
                for code, _, price in GOODS
            ),
        )
        for index in range(math.ceil((clean_invoices + 1) / len(GOODS)))
    ]
    numbers = add_orders(directory, orders)
    lines = tuple(
        OpenLine(po, code, description, price)
        for po in numbers
        for code, description, price in GOODS
    )
    return BenchERP(directory, lines[:clean_invoices], lines[clean_invoices])


@dataclass(frozen=True)
class ServedERP:
    """A running copy: the settings that reach it, and a connectors config file naming it."""

    settings: TrytonSettings
    connectors: Path


@contextmanager
def serving(erp: BenchERP) -> Iterator[ServedERP]:
    """Serve a fresh copy of the bench's demo until the context exits."""
    with tempfile.TemporaryDirectory(prefix="bench-tryton-") as tmp:
        copy = Path(tmp)
        facts = copy_demo(erp.directory, copy)
        with DemoServer(copy) as server:
            section = {
                "url": server.url,
                "database": facts.database,
                "api_key": facts.rest_key,
                "company": facts.company,
            }
            connectors = copy / "connectors.yaml"
            connectors.write_text(yaml.safe_dump({"tryton": section}))
            yield ServedERP(TrytonSettings.model_validate(section), connectors)


async def settled(settings: TrytonSettings) -> dict[str, int]:
    """Count the bench's posted supplier invoices and the payments made for them."""
    async with TrytonClient(settings) as client:
        invoices = await client.search(
            "account.invoice",
            [("type", "=", "in"), ("reference", "like", f"{REFERENCE}%"), ("state", "=", "posted")],
            ("id",),
        )
        origins = [f"account.invoice,{row['id']}" for row in invoices]
        payments = await client.search(
            "account.payment", [("line.move_origin", "in", origins)], ("id",)
        )
    return {"posted_invoices": len(invoices), "payments": len(payments)}
