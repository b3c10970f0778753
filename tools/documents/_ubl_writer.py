"""Writing an invoice as UBL 2.1 (EN 16931 core): what a vendor's e-invoicing system would mail.

Only the fields `Invoice` holds are written, in the element order the UBL 2.1 schema demands;
the result passes the same XSD check the reader applies. Used by the demo and the tests.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from tools.documents._invoice import Invoice

_UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NSMAP = {None: _UBL, "cac": _CAC, "cbc": _CBC}


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{_CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: object, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{_CBC}}}{name}", attrs)
    element.text = str(text)
    return element


def _money(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, f"{value:.2f}", currencyID=currency)


def _party(parent: etree._Element, role: str, name: str, tax_id: str | None) -> None:
    party = _cac(_cac(parent, role), "Party")
    _cbc(_cac(party, "PartyName"), "Name", name)
    address = _cac(party, "PostalAddress")
    _cbc(_cac(address, "Country"), "IdentificationCode", "DE")
    if tax_id:
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", tax_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(party, "PartyLegalEntity"), "RegistrationName", name)


def to_ubl(invoice: Invoice, *, buyer: str = "Acme Manufacturing GmbH") -> bytes:
    """The invoice as a UBL 2.1 Invoice document (UTF-8 bytes with an XML declaration)."""
    cur = invoice.currency
    root = etree.Element(f"{{{_UBL}}}Invoice", nsmap=_NSMAP)
    _cbc(root, "CustomizationID", "urn:cen.eu:en16931:2017")
    _cbc(root, "ID", invoice.invoice_number)
    _cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if invoice.due_date:
        _cbc(root, "DueDate", invoice.due_date.isoformat())
    _cbc(root, "InvoiceTypeCode", "380")
    _cbc(root, "DocumentCurrencyCode", cur)
    if invoice.po_number:
        _cbc(_cac(root, "OrderReference"), "ID", invoice.po_number)
    _party(root, "AccountingSupplierParty", invoice.vendor_name, invoice.vendor_tax_id)
    _party(root, "AccountingCustomerParty", buyer, None)
    _money(_cac(root, "TaxTotal"), "TaxAmount", invoice.tax, cur)
    totals = _cac(root, "LegalMonetaryTotal")
    net = invoice.subtotal - invoice.allowances + invoice.charges
    _money(totals, "LineExtensionAmount", invoice.subtotal, cur)
    _money(totals, "TaxExclusiveAmount", net, cur)
    _money(totals, "TaxInclusiveAmount", invoice.total, cur)
    if invoice.allowances:
        _money(totals, "AllowanceTotalAmount", invoice.allowances, cur)
    if invoice.charges:
        _money(totals, "ChargeTotalAmount", invoice.charges, cur)
    if invoice.prepaid:
        _money(totals, "PrepaidAmount", invoice.prepaid, cur)
    _money(totals, "PayableAmount", invoice.amount_due, cur)
    for number, line in enumerate(invoice.lines, start=1):
        node = _cac(root, "InvoiceLine")
        _cbc(node, "ID", number)
        _cbc(node, "InvoicedQuantity", f"{line.quantity.normalize():f}", unitCode="C62")
        _money(node, "LineExtensionAmount", line.amount, cur)
        for indicator, amount in (("false", line.allowances), ("true", line.charges)):
            if amount:
                charge = _cac(node, "AllowanceCharge")
                _cbc(charge, "ChargeIndicator", indicator)
                _money(charge, "Amount", amount, cur)
        item = _cac(node, "Item")
        _cbc(item, "Name", line.description)
        if line.product_code:
            _cbc(_cac(item, "SellersItemIdentification"), "ID", line.product_code)
        _cbc(_cac(node, "Price"), "PriceAmount", f"{line.unit_price:f}", currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
