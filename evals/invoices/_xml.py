"""E-invoices written with this eval's own lxml templates: UBL 2.1 (Peppol BIS 3 style), CII
(Factur-X EN 16931 profile), and a UBL DespatchAdvice for the delivery-note trap."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from evals.invoices._cases import INJECTION, Case
from evals.invoices._parties import BUYER, CATALOGUE, Vendor

_UBL = {
    None: "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_DESPATCH = {**_UBL, None: "urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2"}
_CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
_UNIT = {"u": "C62", "m": "MTR"}
_COUNTRY = {
    "Deutschland": "DE",
    "France": "FR",
    "United Kingdom": "GB",
    "China": "CN",
    "España": "ES",
    "Schweiz": "CH",
    "Italia": "IT",
    "USA": "US",
    "Sverige": "SE",
    "Ireland": "IE",
    "Germany": "DE",
}
_RATE = "20"


def _unit(code: str | None) -> str:
    return _UNIT[next((p.unit for p in CATALOGUE if p.code == code), "u")]


def _postcode(city: str) -> tuple[str, str]:
    """Split '73760 Ostfildern' (or 'Leeds LS11 5DN') into postcode and city."""
    words = city.split()
    if words[0][:1].isdigit():
        return words[0], " ".join(words[1:])
    return " ".join(words[-2:]) if len(words) > 2 else words[-1], words[0].rstrip(",")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True)
class _Party:
    """A seller or buyer as the documents name it: `tax_id` and `email` only where printed."""

    name: str
    street: str
    city: str  # postcode and city, split by `_postcode`
    country: str
    tax_id: str | None
    email: str | None


def _seller(vendor: Vendor) -> _Party:
    return _Party(
        vendor.name,
        vendor.street,
        vendor.city,
        vendor.country,
        vendor.tax_id_compact,
        vendor.email,
    )


_BUYER = _Party(BUYER.name, BUYER.street, BUYER.city, BUYER.country, BUYER.vat, None)


def _ubl_party(
    cac: ElementMaker, cbc: ElementMaker, party: _Party, *, legal: bool = True
) -> etree._Element:
    postcode, town = _postcode(party.city)
    parts = [
        cac.PartyName(cbc.Name(party.name)),
        cac.PostalAddress(
            cbc.StreetName(party.street),
            cbc.CityName(town),
            cbc.PostalZone(postcode),
            cac.Country(cbc.IdentificationCode(_COUNTRY.get(party.country, "DE"))),
        ),
    ]
    if party.tax_id:
        parts.append(cac.PartyTaxScheme(cbc.CompanyID(party.tax_id), cac.TaxScheme(cbc.ID("VAT"))))
    if legal:
        parts.append(cac.PartyLegalEntity(cbc.RegistrationName(party.name)))
    if party.email:
        parts.append(cac.Contact(cbc.ElectronicMail(party.email)))
    return cac.Party(*parts)


def ubl_invoice(case: Case, vendor: Vendor) -> bytes:
    """A UBL 2.1 Invoice of the case's truth."""
    t = case.printed
    cac = ElementMaker(namespace=_UBL["cac"], nsmap=_UBL)
    cbc = ElementMaker(namespace=_UBL["cbc"], nsmap=_UBL)
    root = ElementMaker(namespace=_UBL[None], nsmap=_UBL)
    cur = {"currencyID": t.currency}
    head: list[etree._Element] = [
        cbc.CustomizationID(
            "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
        ),
        cbc.ProfileID("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"),
        cbc.ID(t.invoice_number),
        cbc.IssueDate(t.issue_date.isoformat()),
    ]
    if t.due_date:
        head.append(cbc.DueDate(t.due_date.isoformat()))
    head.append(cbc.InvoiceTypeCode("380"))
    if case.injection:
        head.append(cbc.Note(INJECTION))
    head.append(cbc.DocumentCurrencyCode(t.currency))
    if t.po_number:
        head.append(cac.OrderReference(cbc.ID(t.po_number)))
    head += [
        cac.AccountingSupplierParty(_ubl_party(cac, cbc, _seller(vendor))),
        cac.AccountingCustomerParty(_ubl_party(cac, cbc, _BUYER)),
        cac.PaymentMeans(
            cbc.PaymentMeansCode("58"),
            cac.PayeeFinancialAccount(cbc.ID(vendor.iban.replace(" ", ""))),
        ),
        cac.PaymentTerms(cbc.Note("30 days net")),
        cac.TaxTotal(
            cbc.TaxAmount(_amount(t.tax), **cur),
            cac.TaxSubtotal(
                cbc.TaxableAmount(_amount(t.subtotal), **cur),
                cbc.TaxAmount(_amount(t.tax), **cur),
                cac.TaxCategory(cbc.ID("S"), cbc.Percent(_RATE), cac.TaxScheme(cbc.ID("VAT"))),
            ),
        ),
        cac.LegalMonetaryTotal(
            cbc.LineExtensionAmount(_amount(t.subtotal), **cur),
            cbc.TaxExclusiveAmount(_amount(t.subtotal), **cur),
            cbc.TaxInclusiveAmount(_amount(t.total), **cur),
            cbc.PayableAmount(_amount(t.total), **cur),
        ),
    ]
    lines = []
    for number, line in enumerate(t.lines, 1):
        item = [cbc.Name(line.description)]
        if line.product_code:
            item.append(cac.SellersItemIdentification(cbc.ID(line.product_code)))
        item.append(
            cac.ClassifiedTaxCategory(cbc.ID("S"), cbc.Percent(_RATE), cac.TaxScheme(cbc.ID("VAT")))
        )
        lines.append(
            cac.InvoiceLine(
                cbc.ID(str(number)),
                cbc.InvoicedQuantity(f"{line.quantity}", unitCode=_unit(line.product_code)),
                cbc.LineExtensionAmount(_amount(line.amount), **cur),
                cac.Item(*item),
                cac.Price(cbc.PriceAmount(f"{line.unit_price}", **cur)),
            )
        )
    return _xml(root.Invoice(*head, *lines))


def ubl_despatch(case: Case, vendor: Vendor) -> bytes:
    """A UBL 2.1 DespatchAdvice listing the case's lines as delivered (no prices: no invoice)."""
    t = case.printed
    cac = ElementMaker(namespace=_UBL["cac"], nsmap=_DESPATCH)
    cbc = ElementMaker(namespace=_UBL["cbc"], nsmap=_DESPATCH)
    root = ElementMaker(namespace=_DESPATCH[None], nsmap=_DESPATCH)
    lines = [
        cac.DespatchLine(
            cbc.ID(str(number)),
            cbc.DeliveredQuantity(f"{line.quantity}", unitCode=_unit(line.product_code)),
            cac.OrderLineReference(cbc.LineID(str(number))),
            cac.Item(
                cbc.Name(line.description),
                cac.SellersItemIdentification(cbc.ID(line.product_code or str(number))),
            ),
        )
        for number, line in enumerate(t.lines, 1)
    ]
    doc = root.DespatchAdvice(
        cbc.UBLVersionID("2.1"),
        cbc.CustomizationID("urn:fdc:peppol.eu:poacc:trns:despatch_advice:3"),
        cbc.ID(f"DN-{t.invoice_number}"),
        cbc.IssueDate(t.issue_date.isoformat()),
        cbc.DespatchAdviceTypeCode("351"),
        cac.OrderReference(cbc.ID(t.po_number or "")),
        # A despatch advice names the parties without their tax registrations.
        cac.DespatchSupplierParty(
            _ubl_party(cac, cbc, replace(_seller(vendor), tax_id=None), legal=False)
        ),
        cac.DeliveryCustomerParty(_ubl_party(cac, cbc, replace(_BUYER, tax_id=None), legal=False)),
        cac.Shipment(cbc.ID("1")),
        *lines,
    )
    return _xml(doc)


def cii_invoice(case: Case, vendor: Vendor) -> bytes:
    """A Factur-X (EN 16931 profile) CrossIndustryInvoice of the case's truth."""
    t = case.printed
    rsm = ElementMaker(namespace=_CII["rsm"], nsmap=_CII)
    ram = ElementMaker(namespace=_CII["ram"], nsmap=_CII)
    udt = ElementMaker(namespace=_CII["udt"], nsmap=_CII)

    def date(day: object) -> etree._Element:
        return udt.DateTimeString(f"{day:%Y%m%d}", format="102")

    def party(p: _Party) -> list[etree._Element]:
        postcode, town = _postcode(p.city)
        parts = [
            ram.Name(p.name),
            ram.PostalTradeAddress(
                ram.PostcodeCode(postcode),
                ram.LineOne(p.street),
                ram.CityName(town),
                ram.CountryID(_COUNTRY.get(p.country, "DE")),
            ),
        ]
        if p.email:
            parts.append(ram.URIUniversalCommunication(ram.URIID(p.email, schemeID="EM")))
        if p.tax_id:
            parts.append(ram.SpecifiedTaxRegistration(ram.ID(p.tax_id, schemeID="VA")))
        return parts

    document = [
        ram.ID(t.invoice_number),
        ram.TypeCode("380"),
        ram.IssueDateTime(date(t.issue_date)),
    ]
    if case.injection:
        document.append(ram.IncludedNote(ram.Content(INJECTION)))
    items = []
    for number, line in enumerate(t.lines, 1):
        product = []
        if line.product_code:
            product.append(ram.SellerAssignedID(line.product_code))
        product.append(ram.Name(line.description))
        items.append(
            ram.IncludedSupplyChainTradeLineItem(
                ram.AssociatedDocumentLineDocument(ram.LineID(str(number))),
                ram.SpecifiedTradeProduct(*product),
                ram.SpecifiedLineTradeAgreement(
                    ram.NetPriceProductTradePrice(ram.ChargeAmount(f"{line.unit_price}"))
                ),
                ram.SpecifiedLineTradeDelivery(
                    ram.BilledQuantity(f"{line.quantity}", unitCode=_unit(line.product_code))
                ),
                ram.SpecifiedLineTradeSettlement(
                    ram.ApplicableTradeTax(
                        ram.TypeCode("VAT"), ram.CategoryCode("S"), ram.RateApplicablePercent(_RATE)
                    ),
                    ram.SpecifiedTradeSettlementLineMonetarySummation(
                        ram.LineTotalAmount(_amount(line.amount))
                    ),
                ),
            )
        )
    agreement = [
        ram.SellerTradeParty(*party(_seller(vendor))),
        ram.BuyerTradeParty(*party(_BUYER)),
    ]
    if t.po_number:
        agreement.append(ram.BuyerOrderReferencedDocument(ram.IssuerAssignedID(t.po_number)))
    terms = [ram.Description("30 days net")]
    if t.due_date:
        terms.append(ram.DueDateDateTime(date(t.due_date)))
    settlement = ram.ApplicableHeaderTradeSettlement(
        ram.InvoiceCurrencyCode(t.currency),
        ram.SpecifiedTradeSettlementPaymentMeans(
            ram.TypeCode("58"),
            ram.PayeePartyCreditorFinancialAccount(ram.IBANID(vendor.iban.replace(" ", ""))),
        ),
        ram.ApplicableTradeTax(
            ram.CalculatedAmount(_amount(t.tax)),
            ram.TypeCode("VAT"),
            ram.BasisAmount(_amount(t.subtotal)),
            ram.CategoryCode("S"),
            ram.RateApplicablePercent(_RATE),
        ),
        ram.SpecifiedTradePaymentTerms(*terms),
        ram.SpecifiedTradeSettlementHeaderMonetarySummation(
            ram.LineTotalAmount(_amount(t.subtotal)),
            ram.TaxBasisTotalAmount(_amount(t.subtotal)),
            ram.TaxTotalAmount(_amount(t.tax), currencyID=t.currency),
            ram.GrandTotalAmount(_amount(t.total)),
            ram.DuePayableAmount(_amount(t.total)),
        ),
    )
    doc = rsm.CrossIndustryInvoice(
        rsm.ExchangedDocumentContext(
            ram.GuidelineSpecifiedDocumentContextParameter(ram.ID("urn:cen.eu:en16931:2017"))
        ),
        rsm.ExchangedDocument(*document),
        rsm.SupplyChainTradeTransaction(
            *items,
            ram.ApplicableHeaderTradeAgreement(*agreement),
            ram.ApplicableHeaderTradeDelivery(),
            settlement,
        ),
    )
    return _xml(doc)
