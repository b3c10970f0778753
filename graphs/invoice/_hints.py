"""What the ERP tells the document reader before it reads: who may bill, and what they ordered.

The suppliers with open purchase orders, with their tax ids and e-mail addresses, and each
order's lines as ordered, received and still to invoice; the sender of the mail. The grounded
reader (tools/documents) takes them as `Hints`, which know nothing of Tryton.
"""

from __future__ import annotations

from decimal import Decimal
from email.utils import getaddresses

from tools.documents import Hints, OrderHint, OrderLineHint, SupplierHint
from tools.tryton import PurchaseOrder, TrytonERP


def sender_address(sender: str | None) -> str | None:
    """The first address of a From header (`Acme <billing@acme.example>`), or None."""
    for _, address in getaddresses([sender or ""]):
        if "@" in address:
            return address.strip()
    return None


async def document_hints(client: TrytonERP, sender: str | None) -> Hints:
    """Read the hints from the ERP: two searches for the suppliers, one for their orders."""
    profiles = await client.supplier_profiles()
    orders = await client.open_purchase_orders([p.id for p in profiles])
    by_supplier: dict[int, list[OrderHint]] = {}
    for order in orders:
        if order.number:
            by_supplier.setdefault(order.supplier_id, []).append(_order(order))
    return Hints(
        suppliers=[
            SupplierHint(
                id=p.id,
                name=p.name,
                code=p.code,
                tax_ids=p.tax_identifiers,
                emails=p.emails,
                bank_accounts=p.bank_accounts,
                country=p.country,
                orders=by_supplier.get(p.id, []),
            )
            for p in profiles
        ],
        sender=sender_address(sender),
    )


def _order(order: PurchaseOrder) -> OrderHint:
    assert order.number is not None
    return OrderHint(
        number=order.number,
        reference=order.reference,
        currency=order.currency,
        lines=[
            OrderLineHint(
                line_id=line.id,
                product_code=line.product_code,
                description=line.description,
                quantity_ordered=_quantity(line.quantity),
                quantity_received=_quantity(line.received_quantity),
                quantity_open=_quantity(max(line.quantity - line.invoiced_quantity, 0.0)),
                unit=line.unit,
                unit_price=line.unit_price,
                currency=order.currency,
                tax_rate=line.tax_rate,
            )
            for line in order.lines
        ],
    )


def _quantity(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))
