"""Checking an invoice against its purchase order: two-way (ordered), three-way (received).

Pure functions over what the ERP returned, so every rule is tested without an ERP. Each finding
names the field, the values compared and the tolerance, so a reviewer (or an auditor) sees why.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from graphs.invoice._policy import Policy
from tools.documents import Invoice, InvoiceLine, SumGap, sum_gaps
from tools.tryton import Invoice as ErpInvoice
from tools.tryton import PurchaseLine, PurchaseOrder, Supplier

FindingCode = Literal[
    "extraction",
    "low_confidence",
    "supplier_unknown",
    "vendor_mismatch",
    "po_missing",
    "po_unknown",
    "po_closed",
    "currency_mismatch",
    "line_unmatched",
    "qty_over_ordered",
    "qty_over_received",
    "price_mismatch",
    "arithmetic",
    "tax_mismatch",
    "booking_mismatch",
    "adjustment",
    "over_limit",
    "duplicate",
    "duplicate_pending",
    "near_duplicate",
]
OPEN_STATES = ("confirmed", "processing")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: FindingCode
    field: str
    message: str


class LineMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int  # position in Invoice.lines
    purchase_line_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal


class MatchReport(BaseModel):
    supplier_id: int | None = None
    supplier: str | None = None
    purchase_id: int | None = None
    purchase_number: str | None = None
    lines: list[LineMatch] = []
    findings: list[Finding] = []
    duplicate_of: str | None = None  # the ERP invoice already booked for this one

    @property
    def clean(self) -> bool:
        return not self.findings


def _words(text: str | None) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", (text or "").casefold()) if len(w) > 1}


_LEGAL_FORMS = {"ltd", "limited", "gmbh", "inc", "llc", "sa", "sas", "srl", "bv", "ag", "plc", "co"}


def same_vendor(invoice_name: str, erp_name: str) -> bool:
    """Names agree when one's significant words hold all the other's (legal forms aside)."""
    a = _words(invoice_name) - _LEGAL_FORMS
    b = _words(erp_name) - _LEGAL_FORMS
    return bool(a and b) and (a <= b or b <= a)


def _similarity(a: str | None, b: str | None) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def pair_lines(
    lines: list[InvoiceLine], po_lines: list[PurchaseLine]
) -> tuple[dict[int, PurchaseLine], list[int]]:
    """Pair invoice lines with PO lines: by product code, then by description, then the last one.

    Returns the pairs by invoice line index and the indexes left unpaired.
    """
    free = list(po_lines)
    pairs: dict[int, PurchaseLine] = {}
    for index, line in enumerate(lines):
        code = (line.product_code or "").casefold()
        hit = next((p for p in free if code and (p.product_code or "").casefold() == code), None)
        if hit is None:
            scored = [(_similarity(line.description, p.description), p) for p in free]
            best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
            if best[1] is not None and best[0] >= 0.5:
                hit = best[1]
        if hit is not None:
            pairs[index] = hit
            free.remove(hit)
    unpaired = [i for i in range(len(lines)) if i not in pairs]
    if len(unpaired) == 1 and len(free) == 1:
        pairs[unpaired[0]] = free.pop()
        unpaired = []
    return pairs, unpaired


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def arithmetic(invoice: Invoice, tolerance: Decimal) -> list[Finding]:
    """Line amounts, subtotal and total add up (to `tolerance`)."""
    return [_sum_off(invoice, gap) for gap in sum_gaps(invoice, tolerance)]


def _sum_off(invoice: Invoice, gap: SumGap) -> Finding:
    if gap.field == "amount":
        line = invoice.lines[gap.line]
        extra = ""
        if line.allowances or line.charges:
            extra = f" - {line.allowances} + {line.charges}"
        field = f"lines[{gap.line}].amount"
        message = (
            f"line {gap.line + 1}: {line.quantity} x {line.unit_price}{extra} = "
            f"{_money(gap.expected)}, the invoice says {_money(line.amount)}"
        )
    elif gap.field == "subtotal":
        field = "subtotal"
        message = (
            f"lines add up to {_money(gap.expected)}, the subtotal says {_money(invoice.subtotal)}"
        )
    else:
        adjusted = ""
        if invoice.allowances or invoice.charges:
            adjusted = f" - allowances {invoice.allowances} + charges {invoice.charges}"
        field = "total"
        message = (
            f"subtotal {_money(invoice.subtotal)}{adjusted} + tax "
            f"{_money(invoice.tax)} is not the total {_money(invoice.total)}"
        )
    return Finding(code="arithmetic", field=field, message=message)


def net_unit_price(line: InvoiceLine) -> Decimal:
    """The price per unit after the line's own allowances and charges (what is billed)."""
    if (line.allowances or line.charges) and line.quantity:
        return (line.amount / line.quantity).quantize(Decimal("0.0001"))
    return line.unit_price


def check_lines(
    invoice: Invoice, order: PurchaseOrder, policy: Policy
) -> tuple[list[LineMatch], list[Finding]]:
    """Quantities within what was ordered (and received), prices within tolerance."""
    pairs, unpaired = pair_lines(invoice.lines, order.lines)
    found = [
        Finding(
            code="line_unmatched",
            field=f"lines[{i}]",
            message=f"line {i + 1} ({invoice.lines[i].description!r}) is on no line of "
            f"purchase order {order.number}",
        )
        for i in unpaired
    ]
    matched = []
    for index, po_line in sorted(pairs.items()):
        line = invoice.lines[index]
        label = f"line {index + 1} ({po_line.product_code or po_line.description})"
        over = _over_quantity(index, label, line.quantity, po_line, policy.require_receipt)
        if over is not None:
            found.append(over)
        ordered_price = po_line.unit_price
        price = net_unit_price(line)
        if ordered_price > 0:
            off = (price - ordered_price) / ordered_price * 100
        else:
            off = Decimal(0) if price == 0 else Decimal(100)
        if abs(off) > policy.price_tolerance_pct:
            found.append(
                Finding(
                    code="price_mismatch",
                    field=f"lines[{index}].unit_price",
                    message=f"{label}: unit price {price} against {ordered_price} on the "
                    f"order ({off:+.1f}%, tolerance {policy.price_tolerance_pct}%)",
                )
            )
        matched.append(
            LineMatch(
                index=index,
                purchase_line_id=po_line.id,
                description=line.description,
                quantity=line.quantity,
                unit_price=price,
            )
        )
    return matched, found


def _over_quantity(
    index: int, label: str, quantity: Decimal, po_line: PurchaseLine, require_receipt: bool
) -> Finding | None:
    """Return a finding when the line bills more than is still open: ordered (and, when receipts
    are required, received) less what was already invoiced; the ordered limit is checked first."""
    billed = Decimal(str(po_line.invoiced_quantity))
    limits: list[tuple[FindingCode, str, float]] = [
        ("qty_over_ordered", "ordered", po_line.quantity)
    ]
    if require_receipt:
        limits.append(("qty_over_received", "received", po_line.received_quantity))
    for code, what, limit in limits:
        if quantity > Decimal(str(limit)) - billed:
            return Finding(
                code=code,
                field=f"lines[{index}].quantity",
                message=f"{label}: {quantity} billed, {limit:g} {what} and "
                f"{po_line.invoiced_quantity:g} already invoiced",
            )
    return None


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def expected_tax(
    invoice: Invoice, order: PurchaseOrder, matched: list[LineMatch]
) -> tuple[Decimal, str]:
    """The tax due and how it was reckoned: each billed line at its order line's rate, rounded
    per rate as Tryton rounds per tax; at the order's overall rate on the subtotal when a line
    is not on the order or its tax is more than a percentage."""
    cent = Decimal("0.01")
    rates = {line.id: line.tax_rate for line in order.lines}
    billed = [(invoice.lines[m.index].amount, rates.get(m.purchase_line_id)) for m in matched]
    known = [(amount, rate) for amount, rate in billed if rate is not None]
    if known and len(known) == len(invoice.lines):
        bases: dict[Decimal, Decimal] = {}
        for amount, rate in known:
            bases[rate] = bases.get(rate, Decimal(0)) + amount
        tax = sum(((base * rate).quantize(cent) for rate, base in bases.items()), Decimal(0))
        how = ", ".join(f"{_percent(rate)} on {_money(base)}" for rate, base in bases.items())
        return tax, f"at the order lines' rates ({how})"
    if order.untaxed_amount <= 0:
        return Decimal(0), "at the order's rate (none)"
    rate = order.tax_amount / order.untaxed_amount
    tax = (invoice.subtotal * rate).quantize(cent)
    return tax, f"at the order's rate ({_percent(rate.quantize(Decimal('0.0001')))})"


def booked_totals(invoice: Invoice, booked: ErpInvoice, tolerance: Decimal) -> Finding | None:
    """A finding when the ERP's own reckoning of the booked invoice (its tax engine on the lines
    booked) differs from the document's tax or total: such an invoice must not be posted."""
    if (
        abs(booked.tax_amount - invoice.tax) <= tolerance
        and abs(booked.total_amount - invoice.total) <= tolerance
    ):
        return None
    return Finding(
        code="booking_mismatch",
        field="tax,total",
        message=f"the ERP computes tax {_money(booked.tax_amount)} and total "
        f"{_money(booked.total_amount)} for the booked lines, the invoice states tax "
        f"{_money(invoice.tax)} and total {_money(invoice.total)}",
    )


def assess(
    invoice: Invoice,
    *,
    order: PurchaseOrder | None,
    supplier: Supplier | None,
    duplicates: list[ErpInvoice],
    confidence: dict[str, float],
    problems: list[str],
    policy: Policy,
) -> MatchReport:
    """Every check at once; the report is clean only when a person has nothing to look at."""
    report = MatchReport(
        supplier_id=supplier.id if supplier else None,
        supplier=supplier.name if supplier else None,
        purchase_id=order.id if order else None,
        purchase_number=order.number if order else None,
    )
    found: list[Finding] = [
        Finding(code="extraction", field="document", message=p) for p in problems
    ]
    low = sorted(field for field, score in confidence.items() if score < policy.min_confidence)
    if low:
        found.append(
            Finding(
                code="low_confidence",
                field=",".join(low),
                message=f"read with confidence under {policy.min_confidence}: {', '.join(low)}",
            )
        )
    found += arithmetic(invoice, policy.amount_tolerance)
    if duplicates:
        first = duplicates[0]
        report.duplicate_of = first.number or f"draft invoice {first.id}"
        found.append(
            Finding(
                code="duplicate",
                field="invoice_number",
                message=f"{invoice.invoice_number} from {first.supplier} is already booked as "
                f"{report.duplicate_of} ({first.state})",
            )
        )
    if supplier is None:
        found.append(
            Finding(
                code="supplier_unknown",
                field="vendor_name",
                message=f"no supplier in the ERP matches {invoice.vendor_name!r}"
                + (f" or tax id {invoice.vendor_tax_id}" if invoice.vendor_tax_id else ""),
            )
        )
    elif not same_vendor(invoice.vendor_name, supplier.name):
        found.append(
            Finding(
                code="vendor_mismatch",
                field="vendor_name",
                message=f"the invoice is from {invoice.vendor_name!r} but the order is with "
                f"{supplier.name!r}",
            )
        )
    if not invoice.po_number:
        found.append(
            Finding(code="po_missing", field="po_number", message="the invoice names no PO")
        )
    elif order is None:
        found.append(
            Finding(
                code="po_unknown",
                field="po_number",
                message=f"purchase order {invoice.po_number} does not exist in the ERP",
            )
        )
    if order is not None:
        if order.state not in OPEN_STATES:
            found.append(
                Finding(
                    code="po_closed",
                    field="po_number",
                    message=f"purchase order {order.number} is {order.state}, not open",
                )
            )
        if invoice.currency != order.currency:
            found.append(
                Finding(
                    code="currency_mismatch",
                    field="currency",
                    message=f"invoice in {invoice.currency}, order in {order.currency}",
                )
            )
        report.lines, line_findings = check_lines(invoice, order, policy)
        found += line_findings
        tax, how = expected_tax(invoice, order, report.lines)
        if abs(tax - invoice.tax) > policy.amount_tolerance:
            found.append(
                Finding(
                    code="tax_mismatch",
                    field="tax",
                    message=f"tax {_money(invoice.tax)} on the invoice, {_money(tax)} {how}",
                )
            )
    if invoice.allowances or invoice.charges or invoice.prepaid:
        found.append(
            Finding(
                code="adjustment",
                field="allowances,charges,prepaid",
                message=f"document-level allowances {invoice.allowances}, charges "
                f"{invoice.charges}, prepaid {invoice.prepaid}: only lines are booked against the "
                "order, so a person settles these",
            )
        )
    if policy.auto_approve_limit is not None and invoice.total > policy.auto_approve_limit:
        found.append(
            Finding(
                code="over_limit",
                field="total",
                message=f"total {_money(invoice.total)} is above the auto-approval limit "
                f"{_money(policy.auto_approve_limit)}",
            )
        )
    report.findings = found
    return report


# -- copies of an invoice: the same number (normalised), or the same amount on the same day ------


def number_key(number: str | None) -> str | None:
    """An invoice number as copies of one invoice share it: letters and digits only, without
    case, and each run of digits without leading zeros (`INV-0042`, `inv 42` and `Inv/042` are
    one key, `inv-42-1` another). None when it holds neither letters nor digits."""
    tokens = re.findall(r"[^\W\d_]+|\d+", (number or "").casefold())
    if not tokens:
        return None
    return "-".join(t.lstrip("0") or "0" if t.isdigit() else t for t in tokens)


class PendingCopy(BaseModel):
    """Another run's claim on an invoice of the same supplier (see `_claims`)."""

    model_config = ConfigDict(frozen=True)

    thread_id: str
    invoice_number: str
    issue_date: str
    total: str
    currency: str
    claimed_at: str
    po_number: str | None = None  # its number_key


def _order_lines(erp: ErpInvoice) -> set[int]:
    return {line.purchase_line_id for line in erp.lines if line.purchase_line_id is not None}


def _same_order(mine: set[int] | str | None, theirs: set[int] | str | None) -> bool:
    """Whether two invoices bill the same order, as far as both say (unknown: they may)."""
    if not mine or not theirs:
        return True
    if isinstance(mine, set) and isinstance(theirs, set):
        return bool(mine & theirs)
    return mine == theirs


def copies(
    invoice: Invoice,
    *,
    booked: list[ErpInvoice],
    earlier: list[PendingCopy],
    near_pending: list[PendingCopy],
    tolerance: Decimal,
    purchase_lines: set[int] | None = None,
) -> list[Finding]:
    """Findings for invoices that look like copies of this one, besides an exact ERP duplicate:

    `duplicate_pending` when another run claimed the same supplier and number first (it waits
    for a person or is on its way to the ERP), `near_duplicate` when a booked invoice (`booked`:
    the supplier's invoices in the ERP) or another run's (`near_pending`) has the same issue date,
    currency and total under another number: often the same invoice renumbered, sometimes not,
    so a person decides. A copy bills the same order, so an invoice on other order lines
    (`purchase_lines`: this one's matched lines) or another PO is no near duplicate: a vendor
    billing equal amounts for separate orders on one day is common and not suspect."""
    found: list[Finding] = []
    if earlier:
        first = earlier[0]
        others = ", ".join(c.thread_id for c in earlier[1:])
        found.append(
            Finding(
                code="duplicate_pending",
                field="invoice_number",
                message=f"{invoice.invoice_number} is also on thread {first.thread_id} (as "
                f"{first.invoice_number}, received first)"
                + (f" and on {others}" if others else "")
                + ": reject this copy",
            )
        )
    mine = number_key(invoice.invoice_number)
    for erp in booked:
        if (
            number_key(erp.reference) != mine
            and erp.invoice_date == invoice.issue_date
            and erp.currency == invoice.currency
            and abs(erp.total_amount - invoice.total) <= tolerance
            and _same_order(purchase_lines, _order_lines(erp))
        ):
            found.append(
                Finding(
                    code="near_duplicate",
                    field="invoice_number",
                    message=f"{erp.number or f'draft invoice {erp.id}'} ({erp.state}, vendor "
                    f"number {erp.reference or 'none'}) has the same date {erp.invoice_date} and "
                    f"total {_money(erp.total_amount)} {erp.currency} under another number",
                )
            )
    for copy in near_pending:
        if not _same_order(number_key(invoice.po_number), copy.po_number):
            continue
        found.append(
            Finding(
                code="near_duplicate",
                field="invoice_number",
                message=f"{copy.invoice_number} on thread {copy.thread_id} has the same date "
                f"{copy.issue_date} and total {copy.total} {copy.currency} under another number",
            )
        )
    return found
