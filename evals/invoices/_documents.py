"""Each case as the raw mail that brings it: a PDF or e-invoice attached, or the invoice in the
body; and the public factur-x samples as cases of their own format."""

from __future__ import annotations

import json
from pathlib import Path

from evals.invoices._cases import Case, Line, Truth, vendor_of
from evals.invoices._mail import message, text_invoice
from evals.invoices._pdf import render_pdf
from evals.invoices._xml import cii_invoice, ubl_despatch, ubl_invoice

PUBLIC = Path(__file__).resolve().parents[1] / "datasets" / "facturx"
PUBLIC_SENDER = '"Le Fournisseur - Service comptabilité" <compta@le-fournisseur.example>'


def raw_mail(case: Case) -> bytes:
    """The RFC 5322 message a case arrives in."""
    if case.format == "facturx":
        assert case.source is not None
        data = (PUBLIC / case.source).read_bytes()
        media = "application/pdf" if case.source.endswith(".pdf") else "application/xml"
        return message(case, None, (case.source, media, data), None)
    vendor = vendor_of(case)
    assert vendor is not None and case.truth is not None
    stem = case.truth.invoice_number.replace("/", "-")
    if case.format == "mail-text":
        return message(case, vendor, None, text_invoice(case, vendor))
    if case.format in ("ubl", "cii"):
        if not case.invoice:
            data = ubl_despatch(case, vendor)
            return message(case, vendor, (f"despatch-{stem}.xml", "application/xml", data), None)
        write = ubl_invoice if case.format == "ubl" else cii_invoice
        name = f"{stem}.xml" if case.format == "ubl" else "factur-x.xml"
        return message(case, vendor, (name, "application/xml", write(case, vendor)), None)
    kind = "invoice" if case.invoice else "delivery-note"
    return message(
        case, vendor, (f"{kind}-{stem}.pdf", "application/pdf", render_pdf(case, vendor)), None
    )


def _truth(raw: dict[str, object]) -> Truth:
    lines = tuple(Line.model_validate(line) for line in raw.pop("lines"))  # type: ignore[attr-defined]
    return Truth.model_validate({**raw, "lines": lines})


def public_cases(start: int) -> list[Case]:
    """The factur-x 7.8 samples (BSD), numbered from `start`: invoices from a seller the ERP
    does not know (they must wait, supplier_unknown), and one order, which is no invoice."""
    expected = json.loads((PUBLIC / "expected.json").read_text())
    cases = []
    for offset, (name, raw) in enumerate(sorted(expected.items())):
        truth = _truth(dict(raw)) if raw is not None else None
        cases.append(
            Case(
                id=f"{start + offset:03d}-facturx-{Path(name).stem}",
                format="facturx",
                kind="public",
                expected="waits",
                codes=("supplier_unknown",) if truth is not None else ("extraction",),
                vendor=truth.vendor_name if truth is not None else "",
                truth=truth,
                invoice=truth is not None,
                order=None,
                sender=PUBLIC_SENDER,
                subject=f"Facture {truth.invoice_number}" if truth is not None else "Commande",
                style=0,
                source=name,
            )
        )
    return cases
