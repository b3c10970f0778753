"""Who bills and for which order: the vendor identified by the sender's address, a tax id or a
bank account (its name on the document only corroborating), and the purchase order found by the
shape of the ERP's numbers or the supplier's reference; the order's lines are what to look for.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from tools.documents._hints import OrderLineHint, SupplierHint, normalise_id
from tools.documents._reading import CORROBORATED, NAME_ONLY, NAME_SCORE, READ, State
from tools.documents._words import Box, Cell, Line, Words

__all__ = ["find_order", "identify_vendor"]


def identify_vendor(state: State) -> SupplierHint | None:
    """Identify the vendor by identifiers; fill vendor_name (and its tax id when written)."""
    words, hints = state.words, state.hints
    reasons: dict[int, list[tuple[str, Box | None, str]]] = {}
    by_id = {s.id: s for s in hints.suppliers}
    sender = hints.sender_address()
    if sender:
        domain = sender.rsplit("@", 1)[1]
        exact = [s for s in hints.suppliers if sender in {e.lower() for e in s.emails}]
        same_domain = [
            s for s in hints.suppliers if domain in {e.lower().rsplit("@", 1)[-1] for e in s.emails}
        ]
        for supplier in exact or (same_domain if len(same_domain) == 1 else []):
            how = "sender address" if exact else f"sender's domain {domain}"
            reasons.setdefault(supplier.id, []).append((how, None, sender))
    for line in words.lines:
        squashed = normalise_id(line.text)
        for supplier in hints.suppliers:
            for kind, values in (
                ("tax id", supplier.tax_ids),
                ("bank account", supplier.bank_accounts),
            ):
                for value in values:
                    if len(normalise_id(value)) >= 6 and normalise_id(value) in squashed:
                        reasons.setdefault(supplier.id, []).append((kind, line.box, line.text))
    if len(reasons) > 1:
        named = "; ".join(
            f"{by_id[i].name} by {', '.join(sorted({r[0] for r in rs}))}"
            for i, rs in reasons.items()
        )
        state.problems.append(f"vendor_name: the document points at several suppliers: {named}")
    elif len(reasons) == 1:
        ((supplier_id, found),) = reasons.items()
        supplier = by_id[supplier_id]
        written = _name_written(words, supplier.name)
        how = " and ".join(sorted({r[0] for r in found}))
        kind, box, text = found[0]
        if written is not None:
            state.fill(
                "vendor_name",
                supplier.name,
                written.box,
                written.text,
                f"identified by {how} ({text}); its name is written on the document",
                CORROBORATED,
            )
        else:
            state.fill(
                "vendor_name",
                supplier.name,
                box,
                text,
                f"identified by {how}; its name is not written as the ERP has it",
                READ - 0.05,
            )
        state.values["_supplier"] = supplier
        for line in words.lines:
            ids = [t for t in supplier.tax_ids if normalise_id(t) in normalise_id(line.text)]
            if ids:
                state.fill("vendor_tax_id", ids[0], line.box, line.text, "its tax id", READ)
                break
        return supplier
    # Not identified: a name alone is no proof, but a person should see what the document says.
    by_name = [(s, c) for s in hints.suppliers if (c := _name_written(words, s.name)) is not None]
    if len(by_name) == 1:
        guess, cell = by_name[0]
        state.fill(
            "vendor_name", guess.name, cell.box, cell.text, "name only, not identified", NAME_ONLY
        )
        state.problems.append(
            f"vendor_name: {guess.name!r} is written on the document, but neither the sender "
            "address, a tax id nor a bank account identifies the vendor"
        )
    else:
        top = words.lines[0].cells[0] if words.lines else None
        if top is not None:
            state.fill("vendor_name", top.text, top.box, top.text, "the document's first line", 0.2)
        state.problems.append(
            "vendor_name: no known supplier is identified by the sender address, a tax id or a "
            "bank account on the document"
            + (f" (sender {sender})" if sender else " (no sender address given)")
        )
    return None


def _name_written(words: Words, name: str) -> Cell | None:
    """The cell where a supplier's name is written (fuzzy, legal form aside), if any."""
    wanted = re.sub(
        r"\b(gmbh|ltd|limited|inc|llc|s\.?a\.?s?|s\.?r\.?l|b\.?v|ag|plc)\b\.?", "", name, flags=re.I
    ).strip()
    best: tuple[float, Cell | None] = (0.0, None)
    for cell in words.cells():
        if len(cell.text) < 4:
            continue
        score = fuzz.partial_token_sort_ratio(wanted.casefold(), cell.text.casefold())
        if score > best[0] and len(cell.text) >= len(wanted) * 0.6:
            best = (score, cell)
    return best[1] if best[0] >= NAME_SCORE else None


# -- the purchase order ------------------------------------------------------------------------


def find_order(state: State, supplier: SupplierHint | None) -> list[OrderLineHint]:
    """Find the PO number by the ERP's pattern (or its label); return the lines to look for."""
    hints = state.hints
    orders = {o.number.upper(): (s, o) for s in hints.suppliers for o in s.orders}
    references = {
        (o.reference or "").upper(): o.number.upper()
        for s in hints.suppliers
        for o in s.orders
        if o.reference and len(o.reference) >= 5
    }
    pattern = hints.po_pattern()
    seen: dict[str, tuple[Line, str]] = {}
    for line in state.words.lines:
        if pattern is not None:
            for m in pattern.finditer(line.text):
                seen.setdefault(m.group().upper(), (line, m.group()))
        for reference, number in references.items():
            if reference in line.text.upper():
                seen.setdefault(number, (line, reference))
    labelled = state.values.get("po_number")
    if not seen and labelled is not None:
        seen[str(labelled).upper()] = (state.words.lines[0], str(labelled))
    if len(seen) > 1:
        state.problems.append(
            f"po_number: the document names several purchase orders: {', '.join(sorted(seen))}"
        )
        state.values.pop("po_number", None)
        state.evidence.pop("po_number", None)
        return _supplier_lines(supplier)
    if not seen:
        state.notes.append("po_number: no purchase order number found on the document")
        state.values.pop("po_number", None)
        state.evidence.pop("po_number", None)
        return _supplier_lines(supplier)
    ((number, (line, text)),) = seen.items()
    known = orders.get(number)
    display = known[1].number if known else text
    how = "the ERP's purchase order number pattern" if known else "label"
    state.fill("po_number", display, line.box, line.text, how, READ)
    if known is None:
        return _supplier_lines(supplier)
    owner, order = known
    if supplier is not None and owner.id != supplier.id:
        state.problems.append(
            f"po_number: {order.number} is an order with {owner.name}, not with {supplier.name}, "
            "the vendor the document identifies"
        )
    return list(order.lines)


def _supplier_lines(supplier: SupplierHint | None) -> list[OrderLineHint]:
    return [line for order in (supplier.orders if supplier else []) for line in order.lines]
