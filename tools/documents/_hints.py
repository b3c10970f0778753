"""What the caller already knows, given to the grounded reader: suppliers and their open orders.

The ERP knows who may bill and what they should bill; the reader uses that to identify the vendor
(by identifiers, never by name alone), to find purchase order numbers by the shape the ERP gives
them, and to know which lines to look for. Nothing here knows which ERP it came from.
"""

from __future__ import annotations

import re
from decimal import Decimal
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DateOrder = Literal["DMY", "MDY", "YMD"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderLineHint(_Strict):
    """One purchase order line that may still be billed."""

    line_id: int | None = Field(default=None, description="the ERP's id of the order line")
    product_code: str | None = None
    product_name: str | None = None
    description: str = Field(default="", description="the order line's text")
    quantity_ordered: Decimal
    quantity_received: Decimal = Decimal(0)
    quantity_open: Decimal = Field(description="ordered and not yet invoiced")
    unit: str | None = None
    unit_price: Decimal
    currency: str
    tax_rate: Decimal | None = Field(default=None, description="0.20 for 20 %; None: unknown")


class OrderHint(_Strict):
    number: str = Field(description="the buyer's purchase order number, e.g. PO-00042")
    reference: str | None = Field(default=None, description="the supplier's own reference")
    currency: str
    lines: list[OrderLineHint] = Field(default_factory=list)


class SupplierHint(_Strict):
    id: int
    name: str
    code: str | None = None
    tax_ids: list[str] = Field(default_factory=list, description="VAT and other tax identifiers")
    emails: list[str] = Field(default_factory=list, description="addresses it writes from")
    bank_accounts: list[str] = Field(default_factory=list, description="IBANs, account numbers")
    country: str | None = Field(default=None, description="ISO 3166 code: how it writes dates")
    orders: list[OrderHint] = Field(default_factory=list, description="its open purchase orders")


class Hints(_Strict):
    """The known suppliers, their open orders, and who sent the document."""

    suppliers: list[SupplierHint] = Field(default_factory=list)
    sender: str | None = Field(
        default=None, description="the address the document came from (`Name <addr>` is fine)"
    )
    date_order: DateOrder | None = Field(
        default=None, description="how to read 03/04/2026 when nothing in the document tells"
    )

    def sender_address(self) -> str | None:
        """The bare, lower-case address of the sender, or None."""
        if not self.sender:
            return None
        _, address = parseaddr(self.sender)
        return address.strip().lower() or None if "@" in address else None

    def po_pattern(self) -> re.Pattern[str] | None:
        """A pattern matching numbers shaped like the known purchase order numbers.

        `PO-00042` gives `PO-\\d{5}`; the digits are free, the letters and separators are not.
        """
        shapes = set()
        for supplier in self.suppliers:
            for order in supplier.orders:
                parts = re.split(r"(\d+)", order.number)
                shape = "".join(
                    rf"\d{{{len(part)}}}" if part.isdigit() else re.escape(part) for part in parts
                )
                if re.search(r"\\d", shape):
                    shapes.add(shape)
        if not shapes:
            return None
        alternatives = "|".join(sorted(shapes, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w])", re.IGNORECASE)


def normalise_id(value: str) -> str:
    """A tax id or IBAN as compared: upper case, without blanks, dots and dashes."""
    return re.sub(r"[\s.\-/]", "", value).upper()
