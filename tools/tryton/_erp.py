"""The invoice-to-payment operations on Tryton, typed: what the LangChain tools call.

Writes carry an idempotency key, kept where Tryton shows it to people and where a search finds
it: on a supplier invoice the last line of its comment (`agent-ops idempotency key: KEY`), on a
payment its reference. Each write first looks the key up and returns what it finds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agent_ops.errors import ConfigError, ConnectorError, ConnectorRejected, InvalidInput
from agent_ops.governance.tools import guarded
from tools.tryton import _drafts as drafts
from tools.tryton import _invoices as invoices
from tools.tryton import _payments as payments
from tools.tryton import _records as records
from tools.tryton._client import SYSTEM, TrytonClient
from tools.tryton._models import (
    Invoice,
    Payment,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
    SupplierProfile,
    VendorLedger,
)

OPEN = ("state", "in", ["confirmed", "processing"])  # a purchase order that may still be billed
_POST_LOOK_EVERY = 0.5  # seconds between looks at an invoice whose post was refused
_BOOKING_ROUNDS = 4  # a booking whose plan a concurrent writer upset starts again this often


P = ParamSpec("P")
R = TypeVar("R")


def _write(
    name: str,
) -> Callable[
    [Callable[Concatenate[TrytonERP, P], Awaitable[R]]],
    Callable[Concatenate[TrytonERP, P], Awaitable[R]],
]:
    """Make an ERP write the operation `name` (its tool's name) at the tool permissions' door:
    one check and one audit row, whether a graph calls it directly or through the tool."""

    def wrap(
        method: Callable[Concatenate[TrytonERP, P], Awaitable[R]],
    ) -> Callable[Concatenate[TrytonERP, P], Awaitable[R]]:
        @functools.wraps(method)
        async def call(self: TrytonERP, *args: P.args, **kwargs: P.kwargs) -> R:
            given: dict[str, Any] = {k: v for k, v in kwargs.items() if not callable(v)}
            if args:
                given["args"] = list(args)
            key = kwargs.get("idempotency_key")
            return await guarded(
                SYSTEM,
                name,
                lambda: method(self, *args, **kwargs),
                payload=given,
                key=key if isinstance(key, str) else None,
            )

        return call

    return wrap


class _Superseded(Exception):
    """A concurrent writer's invoice of the key survives ours and is not filled yet."""


@dataclass(frozen=True)
class _Booking:
    """One vendor invoice being booked under its idempotency key."""

    key: str
    supplier_id: int
    lines: Sequence[InvoiceLineInput]
    header: dict[str, Any]  # the vendor's number, date, description and the key's comment
    before_write: Callable[[], Awaitable[None]] | None

    async def sending(self) -> None:
        if self.before_write is not None:
            await self.before_write()


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
        pattern = f"%{records.like_escape(query)}%"
        domain = [
            "OR",
            ("name", "ilike", pattern),
            ("code", "ilike", pattern),
            ("identifiers.code", "ilike", pattern),
        ]
        rows = await self.client.search(
            "party.party", domain, records.SUPPLIER_FIELDS, order=[("name", "ASC")], limit=limit
        )
        return [records.supplier(row) for row in rows]

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
            pattern = f"%{records.like_escape(supplier)}%"
            domain.append(
                ["OR", ("party.name", "ilike", pattern), ("party.code", "ilike", pattern)]
            )
        if not domain:
            raise InvalidInput("give a purchase order number, a supplier id or a supplier name")
        if open_only:
            domain.append(OPEN)
        return await self._purchases(domain, limit)

    async def get_purchase_order(self, purchase_id: int) -> PurchaseOrder:
        """One purchase order with its lines, received and invoiced quantities."""
        row = await self.client.read("purchase.purchase", purchase_id, records.PURCHASE_FIELDS)
        lines = await self._purchase_lines([purchase_id])
        return records.purchase(row, lines.get(purchase_id, []))

    async def get_invoice(self, invoice_id: int) -> Invoice:
        """One invoice with its lines."""
        return await invoices.INVOICES.read(self.client, invoice_id)

    async def find_supplier_invoices(
        self, supplier_id: int, *, reference: str | None = None, limit: int = 10
    ) -> list[Invoice]:
        """A supplier's invoices that are not cancelled, by the supplier's invoice number.

        References compare without case and surrounding blanks, so `inv-7 ` finds `INV-7`.
        """
        domain: list[Any] = [
            ("type", "=", "in"),
            ("party", "=", supplier_id),
            ("state", "!=", "cancelled"),
        ]
        if reference is not None:
            domain.append(("reference", "ilike", records.like_escape(reference.strip())))
        rows = await self.client.search(
            "account.invoice",
            domain,
            records.INVOICE_FIELDS,
            order=[("id", "DESC")],
            limit=limit,
        )
        return [records.invoice(row) for row in rows]

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
        rows = await self._newest(
            "account.move.line", domain, records.LEDGER_FIELDS, "date", limit=limit, offset=offset
        )
        lines = [records.ledger_line(row) for row in rows]
        return VendorLedger(
            supplier_id=supplier_id,
            supplier=party["name"],
            lines=lines,
            total_balance=sum((line.balance for line in lines), records.ZERO),
        )

    # -- writes --------------------------------------------------------------------------

    @_write("tryton_book_supplier_invoice")
    async def book_supplier_invoice(
        self,
        *,
        idempotency_key: str,
        supplier_id: int,
        invoice_date: dt.date,
        reference: str,
        lines: Sequence[InvoiceLineInput],
        description: str | None = None,
        comment: str | None = None,
        in_flight_since: dt.datetime | None = None,
        before_write: Callable[[], Awaitable[None]] | None = None,
    ) -> Invoice:
        """Book a vendor's invoice billing purchase lines as a draft, once per idempotency key.

        Where Tryton drafted the invoice itself (invoice method `order` or `fulfillment`), its
        draft is fitted to the vendor's document, never a second invoice made beside it (see
        `_drafts`); otherwise (`manual`) the invoice is created. `fitted` names the drafts used.

        Writers of one key, concurrent or one resumed after another died, end with one invoice
        (see `_invoices`): each settles after it writes, and a booking that finds its invoice
        gone to a concurrent writer's starts again from what it finds. An invoice that takes
        lines off Tryton's drafts is created empty first and filled once it is the one kept, so
        no caller's lines vanish with a loser's invoice. `in_flight_since` says when a caller
        that never saw the answer sent its last write: nothing is looked at before that write
        could have landed. `before_write` is awaited just before each write is sent, for a
        caller to record that.
        """
        if not lines:
            raise InvalidInput("a supplier invoice needs at least one line")
        await invoices.wait_in_flight(self.client, in_flight_since)
        booking = _Booking(
            key=idempotency_key,
            supplier_id=supplier_id,
            lines=lines,
            header={
                "invoice_date": invoice_date,
                "reference": reference,
                "description": description,
                "comment": (f"{comment.rstrip()}\n\n" if comment else "")
                + f"{records.KEY_MARK}{idempotency_key}",
            },
            before_write=before_write,
        )
        for attempt in range(_BOOKING_ROUNDS):
            try:
                return await self._book(booking)
            except (ConnectorRejected, _Superseded):
                # What this booking planned on was changed by a concurrent writer of the key
                # (its invoice deleted as a duplicate, a draft it fitted deleted by the winner's
                # settling): start again from what Tryton holds now. A refusal that stands is
                # raised after the last round.
                if attempt == _BOOKING_ROUNDS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _book(self, booking: _Booking) -> Invoice:
        found = await invoices.settled(self.client, booking.key)
        if found is not None and not (found.state == "draft" and not found.lines):
            if found.state == "draft":  # a booking may have been cut short before settling
                ours = [line.purchase_line_id for line in found.lines if line.purchase_line_id]
                await drafts.settle(self.client, found.id, ours)
            return found
        by_id = await self._billed_purchase_lines(booking.supplier_id, booking.lines)
        billed = [
            drafts.Billed(
                purchase_line=line.purchase_line_id,
                values={
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "description": _line_text(line, by_id[line.purchase_line_id]),
                },
            )
            for line in booking.lines
        ]
        if found is not None:  # created empty by a booking cut short before filling it
            return await self._fill(found.id, billed, booking, by_id, created=False)
        plan = drafts.plan_fit(billed, await drafts.waiting_drafts(self.client, by_id))
        if plan.target is not None:  # one of Tryton's drafts becomes the vendor's invoice
            actions = await self._line_actions(plan, by_id)
            await booking.sending()
            row = await self.client.write(
                "account.invoice",
                plan.target,
                {**booking.header, "lines": actions},
                records.INVOICE_FIELDS,
            )
            kept = await self._kept_booking(booking, row, check=True)
            await drafts.settle(self.client, kept.id, by_id, touched=plan.sources)
            return kept.model_copy(update={"created": False, "fitted": plan.fitted})
        new = await self._invoice_header(
            booking.supplier_id, by_id[booking.lines[0].purchase_line_id]
        )
        if not plan.move:  # nothing taken off Tryton's drafts: created in one go
            actions = await self._line_actions(plan, by_id)
            await booking.sending()
            row = await self.client.create(
                "account.invoice",
                {**new, **booking.header, "lines": actions},
                records.INVOICE_FIELDS,
            )
            return await self._kept_booking(booking, row, check=True)
        await booking.sending()
        row = await self.client.create(
            "account.invoice", {**new, **booking.header}, records.INVOICE_FIELDS
        )
        kept = await self._kept_booking(booking, row, check=False)
        return await self._fill(kept.id, billed, booking, by_id, created=kept.created)

    async def _fill(
        self,
        invoice_id: int,
        billed: list[drafts.Billed],
        booking: _Booking,
        by_id: dict[int, dict[str, Any]],
        *,
        created: bool,
    ) -> Invoice:
        """Move the billed lines off Tryton's drafts onto our invoice `invoice_id`. Concurrent
        callers of one key fill the same invoice: each plans from what it reads (the drafts
        first, the invoice after, so a line moved meanwhile is seen on the invoice) until the
        invoice bills exactly `lines`, a line one of them added twice going again."""
        sources: list[int] = []
        for _ in range(3):
            waiting = await drafts.waiting_drafts(self.client, by_id)
            current = await self.get_invoice(invoice_id)
            if _bills(current, booking.lines):
                await drafts.settle(self.client, invoice_id, by_id, touched=sources)
                return current.model_copy(update={"created": created, "fitted": tuple(sources)})
            plan = drafts.plan_fit(billed, waiting, target=_draft_lines(current))
            sources += [source for source in plan.sources if source not in sources]
            actions = await self._line_actions(plan, by_id)
            await booking.sending()
            await self.client.write(
                "account.invoice", invoice_id, {**booking.header, "lines": actions}
            )
        raise _unbooked(await self.get_invoice(invoice_id), booking.lines, self.client.base_url)

    async def _line_actions(
        self, plan: drafts.FitPlan, by_id: dict[int, dict[str, Any]]
    ) -> list[list[Any]]:
        """The One2Many actions on the invoice's lines that carry out `plan`."""
        actions = plan.line_actions()
        if plan.create:
            defaults = await self._account_defaults()
            new = [
                _invoice_line_values(line, by_id[line.purchase_line], defaults)
                for line in plan.create
            ]
            actions.append(["create", new])
        return actions

    async def _kept_booking(
        self, booking: _Booking, row: dict[str, Any], *, check: bool
    ) -> Invoice:
        """The invoice kept for the key once `row` was written with it: `row`'s own unless a
        concurrent writer's survives (then `row`'s was deleted, as a draft of the key)."""
        kept = await invoices.settled(self.client, booking.key)
        if kept is None:
            raise self._none_kept("supplier invoice", row["id"], booking.key)
        if kept.id != row["id"]:
            if kept.state == "draft" and not _bills(kept, booking.lines):
                # the survivor is a concurrent writer's, still being filled: book again onto it
                raise _Superseded(kept.id)
            return kept
        booked = records.invoice(row)
        if check:
            _check_booked(booked, booking.lines, self.client.base_url)
        return booked.model_copy(update={"created": True})

    @_write("tryton_update_supplier_invoice")
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
        row = await self.client.write("account.invoice", invoice_id, values, records.INVOICE_FIELDS)
        return records.invoice(row)

    @_write("tryton_delete_draft_invoice")
    async def delete_draft_invoice(self, invoice_id: int) -> None:
        """Delete a draft supplier invoice: until it is posted it is no accounting record."""
        invoice = await self.get_invoice(invoice_id)
        if invoice.state != "draft":
            raise InvalidInput(
                f"invoice {invoice_id} is {invoice.state}; only a draft invoice can be deleted"
            )
        await self.client.delete("account.invoice", invoice_id)

    @_write("tryton_post_invoice")
    async def post_invoice(self, invoice_id: int, *, idempotency_key: str | None = None) -> Invoice:
        """Post a draft or validated invoice; an invoice already posted (or paid) is returned.

        With the `idempotency_key` it was booked under, what is posted is the key's survivor
        (`_invoices`): the other drafts of the key are deleted first, and when `invoice_id` itself
        lost to a concurrent booking of the key, the survivor is posted instead (and returned,
        so the caller sees which invoice it is).

        A post Tryton refuses is looked at again: while another caller's post of the same
        invoice is being carried out (a run resumed after a crash, whose predecessor's post is
        still in flight), Tryton answers 400 or 403, and the invoice ends posted all the same.
        The refusal stands once the invoice stayed unposted for the client's timeout.
        """
        deadline = time.monotonic() + self.client.settings.timeout
        while True:
            if idempotency_key is None:
                invoice = await self.get_invoice(invoice_id)
            else:
                survivor = await invoices.settled(self.client, idempotency_key)
                if survivor is None:
                    raise ConnectorError(
                        f"no supplier invoice carries idempotency key {idempotency_key!r} "
                        f"any more (invoice {invoice_id} was booked with it): book it again",
                        system="tryton",
                        url=self.client.base_url,
                    )
                invoice = survivor
            if invoice.state in ("posted", "paid"):
                return invoice
            if invoice.state == "cancelled":
                raise InvalidInput(f"invoice {invoice.id} is cancelled and cannot be posted")
            try:
                await self.client.action("account.invoice", "post", invoice.id)
                return await self.get_invoice(invoice.id)
            except ConnectorRejected:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(_POST_LOOK_EVERY)  # for the other post to commit

    @_write("tryton_pay_invoice")
    async def pay_invoice(
        self,
        *,
        idempotency_key: str,
        invoice_id: int,
        amount: Decimal | None = None,
        date: dt.date | None = None,
        journal_id: int | None = None,
        submit: bool = True,
        in_flight_since: dt.datetime | None = None,
        before_create: Callable[[], Awaitable[None]] | None = None,
    ) -> Payment:
        """Create a payment of a posted supplier invoice (and submit it), once per key.

        Writers of one key, concurrent or one resumed after another died, end with one
        payment (see `_payments`). `in_flight_since` says when a create of this key was sent by
        a caller that never saw its answer: nothing is created before it could have landed.
        `before_create` is awaited just before the create is sent, for a caller to record that.
        """
        found = await payments.wait_in_flight(self.client, idempotency_key, in_flight_since)
        if found is not None:
            return (
                await payments.submitted(self.client, idempotency_key, found) if submit else found
            )
        invoice = await self.client.read(
            "account.invoice",
            invoice_id,
            ("type", "state", "party", "company", "currency.code", "amount_to_pay"),
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
        open_lines = [row for row in to_pay if (row["payment_amount"] or records.ZERO) > 0]
        if not open_lines:
            if (found := await payments.settled(self.client, idempotency_key)) is not None:
                # made meanwhile by a concurrent writer of the key
                return (
                    await payments.submitted(self.client, idempotency_key, found)
                    if submit
                    else found
                )
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
        # Pay on the due date of what is owed, unless told otherwise.
        values["date"] = date if date is not None else line["maturity_date"]
        if before_create is not None:
            await before_create()
        row = await self.client.create("account.payment", values, ("id",))
        kept = await payments.settled(self.client, idempotency_key)
        if kept is None:
            raise self._none_kept("payment", row["id"], idempotency_key)
        if submit:
            kept = await payments.submitted(self.client, idempotency_key, kept)
        return kept.model_copy(update={"created": kept.id == row["id"]})

    # -- internals -----------------------------------------------------------------------

    async def _billed_purchase_lines(
        self, supplier_id: int, lines: Sequence[InvoiceLineInput]
    ) -> dict[int, dict[str, Any]]:
        """The purchase lines billed, by id, each checked to be the supplier's."""
        rows = await self.client.search(
            "purchase.line",
            [("id", "in", sorted({line.purchase_line_id for line in lines}))],
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
        by_id = {row["id"]: row for row in rows}
        for line in lines:
            row = by_id.get(line.purchase_line_id)
            if row is None:
                raise InvalidInput(f"purchase line {line.purchase_line_id} does not exist")
            if row["purchase"]["party"] != supplier_id:
                raise InvalidInput(
                    f"purchase line {line.purchase_line_id} belongs to supplier "
                    f"{row['purchase']['party']}, not to supplier {supplier_id}"
                )
        return by_id

    async def _account_defaults(self) -> dict[str, Any]:
        return await self.client.read(
            "account.configuration",
            1,
            ("default_account_payable", "default_category_account_expense"),
        )

    async def _invoice_header(self, supplier_id: int, po_line: dict[str, Any]) -> dict[str, Any]:
        """A new supplier invoice's party, accounts and terms, as Tryton's purchase sets them."""
        purchase = po_line["purchase"]
        party = await self.client.read(
            "party.party",
            supplier_id,
            ("account_payable", "supplier_payment_term", "addresses.invoice", "addresses.active"),
        )
        defaults = await self._account_defaults()
        journals = await self.client.search(
            "account.journal", [("type", "=", "expense")], ("id",), limit=1
        )
        address = _invoice_address(party)
        if address is None:
            raise InvalidInput(f"supplier {supplier_id} has no address to invoice")
        values: dict[str, Any] = {
            "type": "in",
            "company": purchase["company"],
            "currency": purchase["currency"],
            "party": supplier_id,
            "invoice_address": address,
            "account": party["account_payable"] or defaults["default_account_payable"],
            "payment_term": party["supplier_payment_term"] or purchase["payment_term"],
        }
        if journals:
            values["journal"] = journals[0]["id"]
        return values

    def _none_kept(self, what: str, record_id: int, key: str) -> ConnectorError:
        """A record just written with `key` that settling did not keep, and no other carries it."""
        return ConnectorError(
            f"{what} {record_id} with idempotency key {key!r} was deleted right after it was "
            "written, and no other carries the key",
            system="tryton",
            url=self.client.base_url,
        )

    async def _newest(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        by: str,
        *,
        limit: int,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The records of `model` that `domain` finds, newest first by `by` (then by id)."""
        order = [(by, "DESC"), ("id", "DESC")]
        return await self.client.search(
            model, domain, fields, order=order, offset=offset, limit=limit
        )

    async def _purchases(self, domain: list[Any], limit: int) -> list[PurchaseOrder]:
        """The purchase orders `domain` finds, newest first, with their lines."""
        fields = records.PURCHASE_FIELDS
        rows = await self._newest("purchase.purchase", domain, fields, "purchase_date", limit=limit)
        lines = await self._purchase_lines([row["id"] for row in rows])
        return [records.purchase(row, lines.get(row["id"], [])) for row in rows]

    async def _purchase_lines(self, purchase_ids: list[int]) -> dict[int, list[PurchaseLine]]:
        if not purchase_ids:
            return {}
        rows = await self.client.search(
            "purchase.line",
            [("purchase", "in", purchase_ids), ("type", "=", "line")],
            records.LINE_FIELDS,
            order=[("purchase", "ASC"), ("sequence", "ASC"), ("id", "ASC")],
        )
        grouped: dict[int, list[PurchaseLine]] = {}
        for row in rows:
            grouped.setdefault(row["purchase"], []).append(records.purchase_line(row))
        return grouped

    async def _payment_journal(self, company: int, currency: dict[str, Any]) -> int:
        """The journal to pay from: the one the `payment_journal` setting names, else the
        company's only one in the invoice's currency."""
        rows = await self.client.search(
            "account.payment.journal",
            [("company", "=", company), ("currency", "=", currency["id"])],
            ("name",),
            order=[("id", "ASC")],
        )
        listed = ", ".join(f"{row['id']} ({row['name']})" for row in rows)
        where = f"company {company} in {currency.get('code') or currency['id']}"
        chosen = self.client.settings.payment_journal
        if chosen is not None:
            hits = [row for row in rows if _is_journal(row, chosen)]
            if len(hits) == 1:
                return int(hits[0]["id"])
            raise ConfigError(
                f"the Tryton setting payment_journal={chosen!r} names "
                f"{'several' if hits else 'none'} of the payment journals of {where}: "
                f"{listed or 'it has none'}"
            )
        if len(rows) == 1:
            return int(rows[0]["id"])
        if not rows:
            raise ConfigError(
                f"{where} has no payment journal to pay supplier invoices from: create one in "
                "Tryton (Accounting > Configuration > Payments > Journals)"
            )
        raise ConfigError(
            f"{where} has {len(rows)} payment journals, {listed}: set payment_journal (a name "
            "or an id) in the connectors config's tryton section to choose one"
        )

    # -- reads for document extraction ---------------------------------------------------------

    async def supplier_profiles(self, *, limit: int = 500) -> list[SupplierProfile]:
        """Suppliers with an open purchase order, with what identifies them on a document.

        Only they can be billing something the workflow may pay; a vendor without an open
        order goes to a person whoever it is.
        """
        orders = await self.client.search(
            "purchase.purchase",
            [OPEN],
            ("party",),
            limit=limit,
        )
        party_ids = sorted({row["party"] for row in orders})
        if not party_ids:
            return []
        rows = await self.client.search(
            "party.party",
            [("id", "in", party_ids)],
            (
                "name",
                "code",
                "identifiers.code",
                "contact_mechanisms.type",
                "contact_mechanisms.value",
                "addresses.country.code",
            ),
            order=[("name", "ASC")],
        )
        return [
            SupplierProfile(
                id=row["id"],
                name=row["name"],
                code=row.get("code"),
                tax_identifiers=[i["code"] for i in row.get("identifiers") or [] if i.get("code")],
                emails=[
                    m["value"]
                    for m in row.get("contact_mechanisms") or []
                    if m.get("type") == "email" and m.get("value")
                ],
                # Bank accounts live in Tryton's `bank` module, which the connector does not
                # require; a deployment that has it can pass IBANs as hints itself.
                bank_accounts=[],
                country=next(
                    (
                        a["country"]["code"]
                        for a in row.get("addresses") or []
                        if isinstance(a.get("country"), dict)
                    ),
                    None,
                ),
            )
            for row in rows
        ]

    async def open_purchase_orders(
        self, supplier_ids: Sequence[int], *, limit: int = 200
    ) -> list[PurchaseOrder]:
        """The confirmed or processing purchase orders of these suppliers, with their lines."""
        if not supplier_ids:
            return []
        return await self._purchases([("party", "in", list(supplier_ids)), OPEN], limit)


def _is_journal(row: dict[str, Any], chosen: int | str) -> bool:
    if isinstance(chosen, int):
        return bool(row["id"] == chosen)
    name = chosen.strip().casefold()
    return bool(row["name"].strip().casefold() == name or str(row["id"]) == name)


def _invoice_address(party: dict[str, Any]) -> int | None:
    addresses = [a for a in party.get("addresses") or [] if a.get("active", True)]
    for address in addresses:
        if address.get("invoice"):
            return int(address["id"])
    return int(addresses[0]["id"]) if addresses else None


def _line_text(line: InvoiceLineInput, po_line: dict[str, Any]) -> str:
    product = po_line.get("product") or {}
    return line.description or po_line.get("description") or product.get("name") or ""


def _invoice_line_values(
    line: drafts.Billed, po_line: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    """A new invoice line billing a purchase line, as Tryton's purchase would draft it."""
    purchase = po_line["purchase"]
    product = po_line.get("product") or {}
    category = product.get("account_category") or {}
    account = category.get("account_expense") or defaults["default_category_account_expense"]
    values: dict[str, Any] = {
        "type": "line",
        "company": purchase["company"],
        "currency": purchase["currency"],
        **line.values,
        "unit": po_line["unit"],
        "account": account,
        "origin": f"purchase.line,{line.purchase_line}",
    }
    if po_line.get("taxes"):
        values["taxes"] = [["add", po_line["taxes"]]]
    if product:
        values["product"] = product["id"]
    return values


def _bills(invoice: Invoice, lines: Sequence[InvoiceLineInput]) -> bool:
    """Whether `invoice` holds exactly the billed lines (purchase line, quantity, price)."""
    have = sorted((i.purchase_line_id or 0, i.quantity, i.unit_price) for i in invoice.lines)
    want = sorted((i.purchase_line_id, i.quantity, i.unit_price) for i in lines)
    return have == want


def _draft_lines(invoice: Invoice) -> tuple[int, list[drafts.DraftLine]]:
    """A booked draft as a fitting target: its id and its lines."""
    return invoice.id, [
        drafts.DraftLine(line.id, invoice.id, line.purchase_line_id, line.description)
        for line in invoice.lines
    ]


def _check_booked(invoice: Invoice, lines: Sequence[InvoiceLineInput], url: str) -> None:
    """The booked invoice bills exactly `lines` (purchase line and quantity)."""
    have = sorted((line.purchase_line_id or 0, line.quantity) for line in invoice.lines)
    if have != sorted((line.purchase_line_id, line.quantity) for line in lines):
        raise _unbooked(invoice, lines, url)


def _unbooked(invoice: Invoice, lines: Sequence[InvoiceLineInput], url: str) -> ConnectorError:
    """A booked invoice that does not bill `lines`: a concurrent booking of the same purchase
    lines moved them. It fails rather than let such an invoice be posted."""
    have = sorted((line.purchase_line_id or 0, line.quantity) for line in invoice.lines)
    want = sorted((line.purchase_line_id, line.quantity) for line in lines)
    return ConnectorError(
        f"supplier invoice {invoice.id} was booked with lines {have} (purchase line, "
        f"quantity), not the billed {want}: another booking of the same purchase lines "
        "ran at the same time; look at the invoice in Tryton before booking again",
        system="tryton",
        url=url,
    )
