"""UN/CEFACT Cross Industry Invoice to `Invoice`: Factur-X and ZUGFeRD 2 (CII D16B) and the older
ZUGFeRD 1 CrossIndustryDocument, whose elements differ only in their names and namespaces."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from tools.documents._fields import Fields, build_invoice
from tools.documents._invoice import Invoice, InvoiceLine

CREDIT_NOTE = "381"


@dataclass(frozen=True)
class _Dialect:
    namespaces: dict[str, str]
    document: str
    transaction: str
    agreement: str
    settlement: str
    summation: str
    order_id: str
    line_agreement: str
    line_delivery: str
    line_settlement: str
    summation_of_line: str


CII_D16B = _Dialect(
    namespaces={
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    },
    document="rsm:ExchangedDocument",
    transaction="rsm:SupplyChainTradeTransaction",
    agreement="ram:ApplicableHeaderTradeAgreement",
    settlement="ram:ApplicableHeaderTradeSettlement",
    summation="ram:SpecifiedTradeSettlementHeaderMonetarySummation",
    order_id="ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",
    line_agreement="ram:SpecifiedLineTradeAgreement",
    line_delivery="ram:SpecifiedLineTradeDelivery",
    line_settlement="ram:SpecifiedLineTradeSettlement",
    summation_of_line="ram:SpecifiedTradeSettlementLineMonetarySummation",
)
ZUGFERD_1 = _Dialect(
    namespaces={
        "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
    },
    document="rsm:HeaderExchangedDocument",
    transaction="rsm:SpecifiedSupplyChainTradeTransaction",
    agreement="ram:ApplicableSupplyChainTradeAgreement",
    settlement="ram:ApplicableSupplyChainTradeSettlement",
    summation="ram:SpecifiedTradeSettlementMonetarySummation",
    order_id="ram:BuyerOrderReferencedDocument/ram:ID",
    line_agreement="ram:SpecifiedSupplyChainTradeAgreement",
    line_delivery="ram:SpecifiedSupplyChainTradeDelivery",
    line_settlement="ram:SpecifiedSupplyChainTradeSettlement",
    summation_of_line="ram:SpecifiedTradeSettlementMonetarySummation",
)


def read_cii(root: etree._Element, *, zugferd1: bool = False) -> tuple[Invoice | None, list[str]]:
    """Read the EN 16931 fields; None when a required one is missing (each named in problems)."""
    d = ZUGFERD_1 if zugferd1 else CII_D16B
    f = Fields(root, d.namespaces)
    doc, tx = d.document, d.transaction
    kind = f.text(f"{doc}/ram:TypeCode")
    if kind == CREDIT_NOTE:
        return None, [f"document: type code {kind} is a credit note, not an invoice (BT-3)"]
    seller = f"{tx}/{d.agreement}/ram:SellerTradeParty"
    settlement = f"{tx}/{d.settlement}"
    sums = f"{settlement}/{d.summation}"
    zero = Decimal(0)
    values = {
        "vendor_name": f.need("vendor_name", "BT-27", f"{seller}/ram:Name"),
        "vendor_tax_id": f.text(
            f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",
            f"{seller}/ram:SpecifiedTaxRegistration/ram:ID",
        ),
        "invoice_number": f.need("invoice_number", "BT-1", f"{doc}/ram:ID"),
        "issue_date": f.date("issue_date", "BT-2", f"{doc}/ram:IssueDateTime/udt:DateTimeString"),
        "due_date": f.date(
            "due_date",
            "BT-9",
            f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
            required=False,
        ),
        "currency": f.need("currency", "BT-5", f"{settlement}/ram:InvoiceCurrencyCode"),
        "po_number": f.text(f"{tx}/{d.agreement}/{d.order_id}"),
        "lines": [
            _line(f.at(node), d, position) for position, node in enumerate(_items(f, d), start=1)
        ],
        # The MINIMUM and BASIC WL profiles carry no line total; their tax basis stands in.
        "subtotal": f.decimal(
            "subtotal", "BT-106", f"{sums}/ram:LineTotalAmount", f"{sums}/ram:TaxBasisTotalAmount"
        ),
        "allowances": f.decimal(
            "allowances", "BT-107", f"{sums}/ram:AllowanceTotalAmount", default=zero
        ),
        "charges": f.decimal("charges", "BT-108", f"{sums}/ram:ChargeTotalAmount", default=zero),
        "tax": f.decimal("tax", "BT-110", f"{sums}/ram:TaxTotalAmount", default=zero),
        "total": f.decimal("total", "BT-112", f"{sums}/ram:GrandTotalAmount"),
        "prepaid": f.decimal("prepaid", "BT-113", f"{sums}/ram:TotalPrepaidAmount", default=zero),
    }
    return build_invoice(values, f.problems)


def _items(f: Fields, d: _Dialect) -> list[etree._Element]:
    """The invoiced items: ZUGFeRD 1 also uses line items for free-text notes, without amounts."""
    amount = f"{d.line_settlement}/{d.summation_of_line}/ram:LineTotalAmount"
    return [
        n
        for n in f.all(f"{d.transaction}/ram:IncludedSupplyChainTradeLineItem")
        if f.at(n).all(amount)
    ]


def _line(f: Fields, d: _Dialect, position: int) -> InvoiceLine:
    field = f"lines[{f.text('ram:AssociatedDocumentLineDocument/ram:LineID') or position}]"
    net = f"{d.line_agreement}/ram:NetPriceProductTradePrice"
    quantity = f.decimal(f"{field}.quantity", "BT-129", f"{d.line_delivery}/ram:BilledQuantity")
    amount = f.decimal(
        f"{field}.amount",
        "BT-131",
        f"{d.line_settlement}/{d.summation_of_line}/ram:LineTotalAmount",
    )
    adjustments = f"{d.line_settlement}/ram:SpecifiedTradeAllowanceCharge"
    allowances = f.total(
        f"{field}.allowances",
        f"{adjustments}[ram:ChargeIndicator/udt:Indicator='false']/ram:ActualAmount",
    )
    charges = f.total(
        f"{field}.charges",
        f"{adjustments}[ram:ChargeIndicator/udt:Indicator='true']/ram:ActualAmount",
    )
    if f.text(f"{net}/ram:ChargeAmount") is None and quantity:
        # ZUGFeRD 1 BASIC carries no net price (BT-146); the amount implies it.
        unit_price = ((amount + allowances - charges) / quantity).quantize(Decimal("0.0001"))
    else:
        unit_price = f.unit_price(field, f"{net}/ram:ChargeAmount", f"{net}/ram:BasisQuantity")
    return InvoiceLine(
        description=f.need(f"{field}.description", "BT-153", "ram:SpecifiedTradeProduct/ram:Name"),
        product_code=f.text(
            "ram:SpecifiedTradeProduct/ram:SellerAssignedID",
            "ram:SpecifiedTradeProduct/ram:BuyerAssignedID",
            "ram:SpecifiedTradeProduct/ram:GlobalID",
        ),
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        allowances=allowances,
        charges=charges,
    )
