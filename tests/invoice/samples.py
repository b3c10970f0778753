"""Invoices against the seeded demo Tryton's purchase orders (tools/tryton_demo/_seed.py).

PO-00001 Northwind Metals: BOLT-M8 400 @ 0.25 (400 received), WIRE-CU25 500 @ 1.20 (300 received)
PO-00002 Blue Harbor Packaging: BOX-60 1000 @ 1.05 (all received), GLOVE-NIT 20 @ 6.50 (all)
PO-00003 Keller Industrial Services: MAINT-H 12 h @ 68.00 (none received)
PO-00004 Northwind Metals: BOLT-M8 200 @ 0.24 (none received)
PO-00005 Northwind Metals, 20 % VAT on each line: DRILL-HSS 40 @ 24.00 (all received),
         CUT-DISC 500 @ 1.80 (all received)
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

VENDORS = {
    "PO-00001": "Northwind Metals Ltd",
    "PO-00002": "Blue Harbor Packaging",
    "PO-00003": "Keller Industrial Services GmbH",
    "PO-00004": "Northwind Metals",
    "PO-00005": "Northwind Metals",
}


def invoice(
    number: str,
    po: str,
    lines: list[tuple[str, str, float | str, str]],  # code, description, qty, unit price
    *,
    tax: str = "0.00",
    vendor: str | None = None,
) -> dict[str, Any]:
    """A well-formed invoice (amounts computed) as the API takes it."""
    made = [
        {
            "product_code": code,
            "description": text,
            "quantity": str(qty),
            "unit_price": price,
            "amount": str((Decimal(str(qty)) * Decimal(price)).quantize(Decimal("0.01"))),
        }
        for code, text, qty, price in lines
    ]
    subtotal = sum((Decimal(line["amount"]) for line in made), Decimal(0))
    return {
        "vendor_name": vendor or VENDORS.get(po, "Unknown Vendor"),
        "invoice_number": number,
        "issue_date": dt.date.today().isoformat(),
        "currency": "EUR",
        "po_number": po,
        "lines": made,
        "subtotal": str(subtotal),
        "tax": tax,
        "total": str(subtotal + Decimal(tax)),
    }


PUBLIC_URL = "http://127.0.0.1:8123"  # where review mails link to


def run_config(**policy: Any) -> dict[str, Any]:
    """A config for one in-process run on a thread of its own, with policy overrides."""
    configurable: dict[str, Any] = {"thread_id": str(uuid.uuid4())}
    if policy:
        configurable["invoice_policy"] = policy
    return {"configurable": configurable}


class Outbox:
    """Records what the workflow would mail, once per key (the SMTP path is tested on its own)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    async def __call__(self, to: str, subject: str, body: str, key: str) -> dict[str, Any]:
        if all(sent[3] != key for sent in self.sent):
            self.sent.append((to, subject, body, key))
        return {"message_id": f"<{key}>"}
