"""The invoice-to-payment operations on Tryton, typed: what the LangChain tools call.

Writes carry an idempotency key, kept where Tryton shows it to people and where a search finds
it: on a supplier invoice the last line of its comment (`agent-ops idempotency key: KEY`), on a
payment its reference. Each write first looks the key up and returns what it finds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent_ops.errors import InvalidInput
from tools.tryton._client import TrytonClient
from tools.tryton._models import (
    Invoice,
    InvoiceLine,
    LedgerLine,
    Payment,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
    VendorLedger,
)

KEY_MARK = "agent-ops idempotency key: "
ZERO = Decimal(0)

_SUPPLIER_FIELDS = ("name", "code", "tax_identifier.code", "supplier_payment_term.name")
_LINE_FIELDS = (
    "purchase",
    "type",
    "product.code",
    "product.name",
    "description",
    "unit.symbol",
    "unit.factor",
    "quantity",
    "unit_price",
    "amount",
    "moves.state",
    "moves.quantity",
    "moves.unit.factor",
    "invoice_lines.quantity",
    "invoice_lines.invoice.state",
)
_PURCHASE_FIELDS = (
    "number",
    "reference",
    "party.name",
    "purchase_date",
    "state",
    "invoice_state",
    "shipment_state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
)
_INVOICE_FIELDS = (
    "number",
    "reference",
    "party.name",
    "invoice_date",
    "state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
    "amount_to_pay",
    "comment",
    "lines.origin",
    "lines.description",
    "lines.quantity",
    "lines.unit_price",
    "lines.amount",
)
_PAYMENT_FIELDS = (
    "number",
    "state",
    "party",
    "amount",
    "date",
    "journal.name",
    "line.id",
    "line.move_origin",
    "reference",
)
_LEDGER_FIELDS = (
    "date",
    "maturity_date",
    "move.number",
    "description",
    "move_origin",
    "debit",
    "credit",
    "reconciliation",
    "payment_amount",
)


class InvoiceLineInput(BaseModel):
    """One supplier-invoice line, billed against a purchase order line."""

    model_config = ConfigDict(extra="forbid")

    purchase_line_id: int = Field(description="id of the purchase order line being billed")
    quantity: float = Field(gt=0, description="quantity billed, in the purchase line's unit")
    unit_price: Decimal = Field(ge=0, description="price per unit on the supplier's invoice")
    description: str | None = Field(
        default=None, description="line text; the purchase line's if unset"
    )


class TrytonERP:
    """Find purchase orders and suppliers, book supplier invoices, pay them, read the ledger."""

    def __init__(self, client: TrytonClient) -> None:
        self.client = client

    # -- reads ---------------------------------------------------------------------------

    async def find_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        """Suppliers whose name, code or tax identifier contains `query`."""
        pattern = f"%{_escape(query)}%"
        domain = [
            "OR",
            ("name", "ilike", pattern),
            ("code", "ilike", pattern),
            ("identifiers.code", "ilike", pattern),
        ]
        rows = await self.client.search(
            "party.party", domain, _SUPPLIER_FIELDS, order=[("name", "ASC")], limit=limit
        )
        return [_supplier(row) for row in rows]

    async def find_purchase_orders(
        self,
        *,
        number: str | None = None,
        supplier_id: int | None = None,
        supplier: str | None = None,
        open_only: bool = False,
        limit: int = 10,
    ) -> list[PurchaseOrder]:
        """Purchase orders by number (exact or the supplier's reference) and/or by supplier."""
        domain: list[Any] = []
        if number:
            domain.append(["OR", ("number", "=", number), ("reference", "=", number)])
        if supplier_id is not None:
            domain.append(("party", "=", supplier_id))
        if supplier:
            pattern = f"%{_escape(supplier)}%"
            domain.append(
                ["OR", ("party.name", "ilike", pattern), ("party.code", "ilike", pattern)]
            )
        if not domain:
            raise InvalidInput("give a purchase order number, a supplier id or a supplier name")
        if open_only:
            domain.append(("state", "in", ["confirmed", "processing"]))
        rows = await self.client.search(
            "purchase.purchase",
            domain,
            _PURCHASE_FIELDS,
            order=[("purchase_date", "DESC"), ("id", "DESC")],
            limit=limit,
        )
        lines = await self._purchase_lines([row["id"] for row in rows])
        return [_purchase(row, lines.get(row["id"], [])) for row in rows]

    async def get_purchase_order(self, purchase_id: int) -> PurchaseOrder:
        """One purchase order with its lines, received and invoiced quantities."""
        row = await self.client.read("purchase.purchase", purchase_id, _PURCHASE_FIELDS)
        lines = await self._purchase_lines([purchase_id])
        return _purchase(row, lines.get(purchase_id, []))

    async def get_invoice(self, invoice_id: int) -> Invoice:
        """One invoice with its lines."""
        return _invoice(await self.client.read("account.invoice", invoice_id, _INVOICE_FIELDS))

    async def vendor_ledger(
        self, supplier_id: int, *, open_only: bool = True, limit: int = 50, offset: int = 0
    ) -> VendorLedger:
        """Posted payable lines of a supplier, newest first; unreconciled only if `open_only`."""
        party = await self.client.read("party.party", supplier_id, ("name",))
        domain: list[Any] = [
            ("party", "=", supplier_id),
            ("account.type.payable", "=", True),
            ("move_state", "=", "posted"),
        ]
        if open_only:
            domain.append(("reconciliation", "=", None))
        rows = await self.client.search(
            "account.move.line",
            domain,
            _LEDGER_FIELDS,
            order=[("date", "DESC"), ("id", "DESC")],
            offset=offset,
            limit=limit,
        )
        lines = [_ledger_line(row) for row in rows]
        return VendorLedger(
            supplier_id=supplier_id,
            supplier=party["name"],
            lines=lines,
            total_balance=sum((line.balance for line in lines), ZERO),
        )

    # -- writes --------------------------------------------------------------------------

    async def create_supplier_invoice(
        self,
        *,
        idempotency_key: str,
        supplier_id: int,
        invoice_date: dt.date,
        reference: str,
        lines: Sequence[InvoiceLineInput],
        description: str | None = None,
        comment: str | None = None,
    ) -> Invoice:
        """Create a draft supplier invoice billing purchase lines, once per idempotency key."""
        if found := await self._invoice_by_key(idempotency_key):
            return found
        if not lines:
            raise InvalidInput("a supplier invoice needs at least one line")
        po_lines = await self.client.search(
            "purchase.line",
            [("id", "in", [line.purchase_line_id for line in lines])],
            (
                "purchase.party",
                "purchase.company",
                "purchase.currency",
                "purchase.payment_term",
                "type",
                "product",
                "product.name",
                "product.account_category.account_expense",
                "description",
                "unit",
                "taxes",
            ),
        )
        by_id = {row["id"]: row for row in po_lines}
        for line in lines:
            row = by_id.get(line.purchase_line_id)
            if row is None:
                raise InvalidInput(f"purchase line {line.purchase_line_id} does not exist")
            if row["purchase"]["party"] != supplier_id:
                raise InvalidInput(
                    f"purchase line {line.purchase_line_id} belongs to supplier "
                    f"{row['purchase']['party']}, not to supplier {supplier_id}"
                )
        first = by_id[lines[0].purchase_line_id]["purchase"]
        party = await self.client.read(
            "party.party",
            supplier_id,
            ("account_payable", "supplier_payment_term", "addresses.invoice", "addresses.active"),
        )
        defaults = await self.client.read(
            "account.configuration",
            1,
            ("default_account_payable", "default_category_account_expense"),
        )
        journals = await self.client.search(
            "account.journal", [("type", "=", "expense")], ("id",), limit=1
        )
        address = _invoice_address(party)
        if address is None:
            raise InvalidInput(f"supplier {supplier_id} has no address to invoice")
        payable = party["account_payable"] or defaults["default_account_payable"]
        text = f"{comment.rstrip()}\n\n" if comment else ""
        values: dict[str, Any] = {
            "type": "in",
            "company": first["company"],
            "currency": first["currency"],
            "party": supplier_id,
            "invoice_address": address,
            "account": payable,
            "payment_term": party["supplier_payment_term"] or first["payment_term"],
            "invoice_date": invoice_date,
            "reference": reference,
            "description": description,
            "comment": f"{text}{KEY_MARK}{idempotency_key}",
            "lines": [
                [
                    "create",
                    [
                        _invoice_line_values(line, by_id[line.purchase_line_id], first, defaults)
                        for line in lines
                    ],
                ]
            ],
        }
        if journals:
            values["journal"] = journals[0]["id"]
        row = await self.client.create("account.invoice", values, _INVOICE_FIELDS)
        return _invoice(row).model_copy(update={"created": True})

    async def update_supplier_invoice(
        self,
        invoice_id: int,
        *,
        reference: str | None = None,
        invoice_date: dt.date | None = None,
        description: str | None = None,
        line_changes: dict[int, tuple[float | None, Decimal | None]] | None = None,
    ) -> Invoice:
        """Change a draft invoice's header and its lines' quantity or unit price."""
        values: dict[str, Any] = {}
        if reference is not None:
            values["reference"] = reference
        if invoice_date is not None:
            values["invoice_date"] = invoice_date
        if description is not None:
            values["description"] = description
        writes = []
        for line_id, (quantity, unit_price) in (line_changes or {}).items():
            change: dict[str, Any] = {}
            if quantity is not None:
                change["quantity"] = quantity
            if unit_price is not None:
                change["unit_price"] = unit_price
            if change:
                writes += [[line_id], change]
        if writes:
            values["lines"] = [["write", *writes]]
        if not values:
            raise InvalidInput("nothing to change: give a field or a line change")
        row = await self.client.write("account.invoice", invoice_id, values, _INVOICE_FIELDS)
        return _invoice(row)

    async def post_invoice(self, invoice_id: int) -> Invoice:
        """Post a draft or validated invoice; an invoice already posted (or paid) is returned."""
        invoice = await self.get_invoice(invoice_id)
        if invoice.state in ("posted", "paid"):
            return invoice
        if invoice.state == "cancelled":
            raise InvalidInput(f"invoice {invoice_id} is cancelled and cannot be posted")
        await self.client.action("account.invoice", "post", invoice_id)
        return await self.get_invoice(invoice_id)

    async def pay_invoice(
        self,
        *,
        idempotency_key: str,
        invoice_id: int,
        amount: Decimal | None = None,
        date: dt.date | None = None,
        journal_id: int | None = None,
        submit: bool = True,
    ) -> Payment:
        """Create a payment of a posted supplier invoice (and submit it), once per key."""
        if found := await self._payment_by_key(idempotency_key):
            if submit and found.state == "draft":
                await self.client.action("account.payment", "submit", found.id)
                found = await self._payment(found.id)
            return found
        invoice = await self.client.read(
            "account.invoice",
            invoice_id,
            ("type", "state", "party", "company", "currency", "amount_to_pay"),
        )
        if invoice["type"] != "in" or invoice["state"] != "posted":
            raise InvalidInput(
                f"invoice {invoice_id} is a {invoice['type']} invoice in state "
                f"{invoice['state']}; only posted supplier invoices can be paid"
            )
        to_pay = await self.client.search(
            "account.move.line",
            [
                ("move_origin", "=", f"account.invoice,{invoice_id}"),
                ("account.type.payable", "=", True),
                ("reconciliation", "=", None),
                ("maturity_date", "!=", None),
            ],
            ("payment_amount", "maturity_date"),
            order=[("maturity_date", "ASC"), ("id", "ASC")],
        )
        open_lines = [row for row in to_pay if (row["payment_amount"] or ZERO) > 0]
        if not open_lines:
            raise InvalidInput(f"invoice {invoice_id} has nothing left to pay")
        line = open_lines[0]
        amount = line["payment_amount"] if amount is None else amount
        if amount <= 0 or amount > line["payment_amount"]:
            raise InvalidInput(
                f"amount {amount} is not between 0 and {line['payment_amount']}, "
                f"what is left to pay on invoice {invoice_id}"
            )
        journal = journal_id or await self._payment_journal(invoice["company"], invoice["currency"])
        values = {
            "company": invoice["company"],
            "kind": "payable",
            "party": invoice["party"],
            "journal": journal,
            "line": line["id"],
            "amount": amount,
            "reference": idempotency_key,
        }
        if date is not None:
            values["date"] = date
        row = await self.client.create("account.payment", values, ("id",))
        if submit:
            await self.client.action("account.payment", "submit", row["id"])
        payment = await self._payment(row["id"])
        return payment.model_copy(update={"created": True})

    # -- internals -----------------------------------------------------------------------

    async def _purchase_lines(self, purchase_ids: list[int]) -> dict[int, list[PurchaseLine]]:
        if not purchase_ids:
            return {}
        rows = await self.client.search(
            "purchase.line",
            [("purchase", "in", purchase_ids), ("type", "=", "line")],
            _LINE_FIELDS,
            order=[("purchase", "ASC"), ("sequence", "ASC"), ("id", "ASC")],
        )
        grouped: dict[int, list[PurchaseLine]] = {}
        for row in rows:
            grouped.setdefault(row["purchase"], []).append(_purchase_line(row))
        return grouped

    async def _invoice_by_key(self, key: str) -> Invoice | None:
        rows = await self.client.search(
            "account.invoice",
            [("type", "=", "in"), ("comment", "like", f"%{KEY_MARK}{_escape(key)}%")],
            _INVOICE_FIELDS,
            order=[("id", "ASC")],
        )
        found = [row for row in rows if _key_of(row.get("comment")) == key]
        return _invoice(found[0]) if found else None

    async def _payment_by_key(self, key: str) -> Payment | None:
        rows = await self.client.search(
            "account.payment",
            [("reference", "=", key), ("kind", "=", "payable")],
            _PAYMENT_FIELDS,
            order=[("id", "ASC")],
            limit=1,
        )
        return _payment(rows[0]) if rows else None

    async def _payment(self, payment_id: int) -> Payment:
        return _payment(await self.client.read("account.payment", payment_id, _PAYMENT_FIELDS))

    async def _payment_journal(self, company: int, currency: int) -> int:
        rows = await self.client.search(
            "account.payment.journal",
            [("company", "=", company), ("currency", "=", currency)],
            ("name",),
        )
        if len(rows) != 1:
            names = ", ".join(f"{row['id']} ({row['name']})" for row in rows) or "none"
            raise InvalidInput(
                f"choose a payment journal: company {company} has {names} in the invoice's currency"
            )
        return int(rows[0]["id"])


def _escape(text: str) -> str:
    """Escape Tryton's `like` wildcards (its escape character is the backslash)."""
    for char in ("\\", "%", "_"):
        text = text.replace(char, "\\" + char)
    return text


def _key_of(comment: str | None) -> str | None:
    for line in reversed((comment or "").splitlines()):
        if line.startswith(KEY_MARK):
            return line[len(KEY_MARK) :].strip()
    return None


def _name(value: Any) -> Any:
    """The `name` of a related record read with dotted fields, or None."""
    return value.get("name") if isinstance(value, dict) else None


def _supplier(row: dict[str, Any]) -> Supplier:
    tax = row.get("tax_identifier")
    return Supplier(
        id=row["id"],
        name=row["name"],
        code=row.get("code"),
        tax_identifier=tax.get("code") if isinstance(tax, dict) else None,
        payment_term=_name(row.get("supplier_payment_term")),
    )


def _purchase_line(row: dict[str, Any]) -> PurchaseLine:
    unit = row.get("unit") or {}
    factor = unit.get("factor") or 1.0
    received = 0.0
    for move in row.get("moves") or []:
        if move["state"] == "done":
            move_factor = (move.get("unit") or {}).get("factor") or factor
            received += move["quantity"] * move_factor / factor
    invoiced = sum(
        line["quantity"]
        for line in row.get("invoice_lines") or []
        if (line.get("invoice") or {}).get("state") != "cancelled"
    )
    product = row.get("product") or {}
    return PurchaseLine(
        id=row["id"],
        purchase_id=row["purchase"],
        product_code=product.get("code"),
        description=row.get("description") or product.get("name") or "",
        unit=unit.get("symbol"),
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        amount=row["amount"],
        received_quantity=round(received, 6),
        invoiced_quantity=invoiced,
    )


def _purchase(row: dict[str, Any], lines: list[PurchaseLine]) -> PurchaseOrder:
    return PurchaseOrder(
        id=row["id"],
        number=row.get("number"),
        reference=row.get("reference"),
        supplier_id=row["party"]["id"],
        supplier=row["party"]["name"],
        purchase_date=row.get("purchase_date"),
        state=row["state"],
        invoice_state=row["invoice_state"],
        shipment_state=row["shipment_state"],
        currency=row["currency"]["code"],
        untaxed_amount=row["untaxed_amount"],
        tax_amount=row["tax_amount"],
        total_amount=row["total_amount"],
        lines=lines,
    )


def _invoice(row: dict[str, Any]) -> Invoice:
    lines = []
    for line in row.get("lines") or []:
        origin = line.get("origin") or ""
        model, _, origin_id = origin.partition(",")
        lines.append(
            InvoiceLine(
                id=line["id"],
                purchase_line_id=int(origin_id) if model == "purchase.line" else None,
                description=line.get("description"),
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                amount=line["amount"],
            )
        )
    return Invoice(
        id=row["id"],
        number=row.get("number"),
        reference=row.get("reference"),
        supplier_id=row["party"]["id"],
        supplier=row["party"]["name"],
        invoice_date=row.get("invoice_date"),
        state=row["state"],
        currency=row["currency"]["code"],
        untaxed_amount=row["untaxed_amount"],
        tax_amount=row["tax_amount"],
        total_amount=row["total_amount"],
        amount_to_pay=row.get("amount_to_pay") or ZERO,
        idempotency_key=_key_of(row.get("comment")),
        lines=lines,
    )


def _payment(row: dict[str, Any]) -> Payment:
    line = row.get("line") or {}
    origin = line.get("move_origin") or ""
    model, _, origin_id = origin.partition(",")
    return Payment(
        id=row["id"],
        number=row.get("number"),
        state=row["state"],
        supplier_id=row["party"],
        amount=row["amount"],
        date=row["date"],
        journal=row["journal"]["name"],
        invoice_id=int(origin_id) if model == "account.invoice" else None,
        move_line_id=line.get("id"),
        idempotency_key=row.get("reference"),
    )


def _ledger_line(row: dict[str, Any]) -> LedgerLine:
    return LedgerLine(
        id=row["id"],
        date=row["date"],
        maturity_date=row.get("maturity_date"),
        move=(row.get("move") or {}).get("number"),
        description=row.get("description"),
        origin=row.get("move_origin"),
        debit=row["debit"],
        credit=row["credit"],
        balance=row["credit"] - row["debit"],
        reconciled=row.get("reconciliation") is not None,
        amount_to_pay=row.get("payment_amount"),
    )


def _invoice_address(party: dict[str, Any]) -> int | None:
    addresses = [a for a in party.get("addresses") or [] if a.get("active", True)]
    for address in addresses:
        if address.get("invoice"):
            return int(address["id"])
    return int(addresses[0]["id"]) if addresses else None


def _invoice_line_values(
    line: InvoiceLineInput,
    po_line: dict[str, Any],
    purchase: dict[str, Any],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    product = po_line.get("product") or {}
    category = product.get("account_category") or {}
    account = category.get("account_expense") or defaults["default_category_account_expense"]
    values: dict[str, Any] = {
        "type": "line",
        "company": purchase["company"],
        "currency": purchase["currency"],
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "unit": po_line["unit"],
        "account": account,
        "description": line.description or po_line.get("description") or product.get("name"),
        "origin": f"purchase.line,{line.purchase_line_id}",
    }
    if po_line.get("taxes"):
        values["taxes"] = [["add", po_line["taxes"]]]
    if product:
        values["product"] = product["id"]
    return values
