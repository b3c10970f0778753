"""UBL 2.1 Invoice (EN 16931 syntax binding) to `Invoice`."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from tools.documents._fields import Fields, build_invoice
from tools.documents._invoice import Invoice, InvoiceLine

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SELLER = "cac:AccountingSupplierParty/cac:Party"
TOTALS = "cac:LegalMonetaryTotal"
CREDIT_NOTE = "381"


def read_ubl(root: etree._Element) -> tuple[Invoice | None, list[str]]:
    """Read the EN 16931 fields; None when a required one is missing (each named in problems)."""
    f = Fields(root, NS)
    kind = f.text("cbc:InvoiceTypeCode")
    if kind == CREDIT_NOTE:
        return None, [f"document: type code {kind} is a credit note, not an invoice (BT-3)"]
    currency = f.need("currency", "BT-5", "cbc:DocumentCurrencyCode")
    tax_paths = (
        f"cac:TaxTotal[cbc:TaxAmount/@currencyID='{currency}']/cbc:TaxAmount",
        "cac:TaxTotal/cbc:TaxAmount",
    )
    values = {
        "vendor_name": f.need(
            "vendor_name",
            "BT-27",
            f"{SELLER}/cac:PartyLegalEntity/cbc:RegistrationName",
            f"{SELLER}/cac:PartyName/cbc:Name",
        ),
        "vendor_tax_id": f.text(
            f"{SELLER}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
            f"{SELLER}/cac:PartyTaxScheme/cbc:CompanyID",
        ),
        "invoice_number": f.need("invoice_number", "BT-1", "cbc:ID"),
        "issue_date": f.date("issue_date", "BT-2", "cbc:IssueDate"),
        "due_date": f.date(
            "due_date", "BT-9", "cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate", required=False
        ),
        "currency": currency,
        "po_number": f.text("cac:OrderReference/cbc:ID"),
        "lines": [_line(f.at(node)) for node in f.all("cac:InvoiceLine")],
        "subtotal": f.decimal("subtotal", "BT-106", f"{TOTALS}/cbc:LineExtensionAmount"),
        "allowances": f.decimal(
            "allowances", "BT-107", f"{TOTALS}/cbc:AllowanceTotalAmount", default=Decimal(0)
        ),
        "charges": f.decimal(
            "charges", "BT-108", f"{TOTALS}/cbc:ChargeTotalAmount", default=Decimal(0)
        ),
        "tax": f.decimal("tax", "BT-110", *tax_paths, default=Decimal(0)),
        "total": f.decimal("total", "BT-112", f"{TOTALS}/cbc:TaxInclusiveAmount"),
        "prepaid": f.decimal(
            "prepaid", "BT-113", f"{TOTALS}/cbc:PrepaidAmount", default=Decimal(0)
        ),
    }
    return build_invoice(values, f.problems)


def _line(f: Fields) -> InvoiceLine:
    number = f.text("cbc:ID") or "?"
    field = f"lines[{number}]"
    unit_price = f.unit_price(field, "cac:Price/cbc:PriceAmount", "cac:Price/cbc:BaseQuantity")
    return InvoiceLine(
        description=f.need(f"{field}.description", "BT-153", "cac:Item/cbc:Name"),
        product_code=f.text(
            "cac:Item/cac:SellersItemIdentification/cbc:ID",
            "cac:Item/cac:BuyersItemIdentification/cbc:ID",
            "cac:Item/cac:StandardItemIdentification/cbc:ID",
        ),
        quantity=f.decimal(f"{field}.quantity", "BT-129", "cbc:InvoicedQuantity"),
        unit_price=unit_price,
        amount=f.decimal(f"{field}.amount", "BT-131", "cbc:LineExtensionAmount"),
        allowances=f.total(
            f"{field}.allowances", "cac:AllowanceCharge[cbc:ChargeIndicator='false']/cbc:Amount"
        ),
        charges=f.total(
            f"{field}.charges", "cac:AllowanceCharge[cbc:ChargeIndicator='true']/cbc:Amount"
        ),
    )
