"""The Tryton operations as LangChain tools: pydantic argument schemas, JSON results.

Each tool is marked read-only or side-effecting (`tool.metadata["effect"]`); side-effecting
tools take an idempotency key. Failures raise ConnectorError subclasses (agent_ops.errors); a
ToolNode built with `handle_tool_errors=ConnectorError` hands their message to the model.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from tools.connector import IdempotencyKey, connector_tool
from tools.tryton._client import SYSTEM
from tools.tryton._erp import InvoiceLineInput, TrytonERP


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindSupplierArgs(_Args):
    query: str = Field(min_length=1, description="part of the supplier's name, code or tax id")
    limit: int = Field(default=10, ge=1, le=100)


class FindPurchaseOrdersArgs(_Args):
    number: str | None = Field(
        default=None, description="the purchase order number, or the supplier's reference on it"
    )
    supplier_id: int | None = Field(default=None, description="the supplier's party id")
    supplier: str | None = Field(default=None, description="part of the supplier's name or code")
    open_only: bool = Field(default=False, description="only confirmed or processing orders")
    limit: int = Field(default=10, ge=1, le=100)


class PurchaseOrderArgs(_Args):
    purchase_id: int = Field(description="the purchase order's id")


class BookInvoiceArgs(_Args):
    idempotency_key: IdempotencyKey
    supplier_id: int = Field(description="the supplier's party id")
    invoice_date: dt.date = Field(description="the date printed on the supplier's invoice")
    reference: str = Field(min_length=1, description="the supplier's invoice number")
    lines: list[InvoiceLineInput] = Field(min_length=1)
    description: str | None = Field(default=None, description="a short title for the invoice")
    comment: str | None = Field(default=None, description="a note kept on the invoice")


class InvoiceLineChange(_Args):
    line_id: int = Field(description="the invoice line's id")
    quantity: float | None = Field(default=None, gt=0)
    unit_price: Decimal | None = Field(default=None, ge=0)


class UpdateInvoiceArgs(_Args):
    invoice_id: int
    reference: str | None = None
    invoice_date: dt.date | None = None
    description: str | None = None
    lines: list[InvoiceLineChange] = Field(default_factory=list)


class InvoiceArgs(_Args):
    invoice_id: int = Field(description="the invoice's id")


class PayInvoiceArgs(_Args):
    idempotency_key: IdempotencyKey
    invoice_id: int = Field(description="a posted supplier invoice's id")
    amount: Decimal | None = Field(
        default=None, gt=0, description="amount to pay; what is left to pay if unset"
    )
    date: dt.date | None = Field(
        default=None, description="payment date; the invoice's due date if unset"
    )
    journal_id: int | None = Field(
        default=None,
        description="payment journal; if unset, the one the `payment_journal` setting names, "
        "else the company's only one in the invoice's currency",
    )
    submit: bool = Field(default=True, description="submit the payment for approval")


class VendorLedgerArgs(_Args):
    supplier_id: int = Field(description="the supplier's party id")
    open_only: bool = Field(default=True, description="only lines not yet reconciled")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


def _json(value: BaseModel | list[Any]) -> Any:
    if isinstance(value, list):
        return [item.model_dump(mode="json") for item in value]
    return value.model_dump(mode="json")


def tryton_tools(erp: TrytonERP) -> list[BaseTool]:
    """Build the Tryton tools over one TrytonERP (whose client the caller closes)."""

    async def find_supplier(query: str, limit: int = 10) -> Any:
        return _json(await erp.find_suppliers(query, limit))

    async def find_purchase_orders(**kwargs: Any) -> Any:
        return _json(await erp.find_purchase_orders(**kwargs))

    async def get_purchase_order(purchase_id: int) -> Any:
        return _json(await erp.get_purchase_order(purchase_id))

    async def get_invoice(invoice_id: int) -> Any:
        return _json(await erp.get_invoice(invoice_id))

    async def book_supplier_invoice(**kwargs: Any) -> Any:
        return _json(await erp.book_supplier_invoice(**kwargs))

    async def update_supplier_invoice(
        invoice_id: int, lines: list[InvoiceLineChange], **kwargs: Any
    ) -> Any:
        changes = {line.line_id: (line.quantity, line.unit_price) for line in lines}
        return _json(await erp.update_supplier_invoice(invoice_id, line_changes=changes, **kwargs))

    async def post_invoice(invoice_id: int) -> Any:
        return _json(await erp.post_invoice(invoice_id))

    async def pay_invoice(**kwargs: Any) -> Any:
        return _json(await erp.pay_invoice(**kwargs))

    async def vendor_ledger(supplier_id: int, **kwargs: Any) -> Any:
        return _json(await erp.vendor_ledger(supplier_id, **kwargs))

    specs: list[tuple[Any, str, str, type[BaseModel], Any]] = [
        (
            find_supplier,
            "tryton_find_supplier",
            "Find suppliers by part of their name, code or tax identifier.",
            FindSupplierArgs,
            "read",
        ),
        (
            find_purchase_orders,
            "tryton_find_purchase_orders",
            "Find purchase orders by number (or the supplier's reference) and/or supplier; "
            "each comes with its lines, received and already-invoiced quantities.",
            FindPurchaseOrdersArgs,
            "read",
        ),
        (
            get_purchase_order,
            "tryton_get_purchase_order",
            "Read one purchase order with its lines, received and already-invoiced quantities.",
            PurchaseOrderArgs,
            "read",
        ),
        (
            get_invoice,
            "tryton_get_invoice",
            "Read one invoice with its lines, totals and amount left to pay.",
            InvoiceArgs,
            "read",
        ),
        (
            book_supplier_invoice,
            "tryton_book_supplier_invoice",
            "Book a vendor's invoice as a draft supplier invoice whose lines bill purchase order "
            "lines: the draft Tryton made for the order is fitted to it (fitted lists the "
            "drafts), or a new one is created (created=true). Calling again with the same "
            "idempotency key returns the first invoice (created=false, fitted empty).",
            BookInvoiceArgs,
            "write",
        ),
        (
            update_supplier_invoice,
            "tryton_update_supplier_invoice",
            "Change a draft supplier invoice: reference, date, description, line quantities "
            "or unit prices.",
            UpdateInvoiceArgs,
            "write",
        ),
        (
            post_invoice,
            "tryton_post_invoice",
            "Post a draft supplier invoice to the ledger; an invoice already posted is "
            "returned unchanged.",
            InvoiceArgs,
            "write",
        ),
        (
            pay_invoice,
            "tryton_pay_invoice",
            "Create a payment of a posted supplier invoice and submit it for approval. Calling "
            "again with the same idempotency key returns the first payment (created=false).",
            PayInvoiceArgs,
            "write",
        ),
        (
            vendor_ledger,
            "tryton_vendor_ledger",
            "List a supplier's posted payable lines (what the company owes), newest first.",
            VendorLedgerArgs,
            "read",
        ),
    ]
    return [
        connector_tool(
            func,
            name=name,
            description=description,
            args_schema=schema,
            effect=effect,
            system=SYSTEM,
        )
        for func, name, description, schema, effect in specs
    ]
