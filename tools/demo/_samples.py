"""The demo's sample invoices, dated today, against the seeded purchase orders.

Four mails tell the whole story: a UBL e-invoice with 20 % VAT that matches its order (paid
without a person; Tryton computes the same VAT and total), a PDF whose unit price is over the
order's (waits for approval), a plain-text mail naming an order that does not exist (waits for
a person), and the first invoice again as a PDF (stopped as a duplicate, sent once the first
is booked).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage

from tools.documents import priced_invoice, render_labelled, text_pdf, to_ubl

INBOX = "invoices@acme.example"
REVIEWERS = "ap@acme.example"  # asked by mail when an invoice waits for a person


@dataclass(frozen=True)
class Sample:
    name: str
    expect: str  # what the workflow should do with it, for the log
    message: EmailMessage
    after_first: bool = False  # send once the first sample's run has finished


def _mail(sender: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = INBOX
    message["Subject"] = subject
    message.set_content(body)
    return message


def samples(today: dt.date) -> list[Sample]:
    due = today + dt.timedelta(days=30)
    northwind = priced_invoice(
        "Northwind Metals",
        "NWM-2026-0412",
        today,
        "PO-00005",
        [
            ("DRILL-HSS", "HSS drill bit set (19 pcs)", "40", "24.00"),
            ("CUT-DISC", "Cutting disc 125 mm", "500", "1.80"),
        ],
        tax_rate="0.20",  # the order's lines carry Tryton's 20 % supplier VAT
        due=due,
    )
    matching = _mail("billing@northwind.example", "Invoice NWM-2026-0412", "Our e-invoice.\n")
    matching.add_attachment(
        to_ubl(northwind), maintype="application", subtype="xml", filename="NWM-2026-0412.xml"
    )

    boxes = priced_invoice(
        "Blue Harbor Packaging",
        "BHP-88231",
        today,
        "PO-00002",
        [("BOX-60", "Shipping carton 60 cm", "1000", "1.15")],  # ordered at 1.05
        due=due,
    )
    overpriced = _mail("ar@blueharbor.example", "Invoice BHP-88231", "Please find our invoice.\n")
    overpriced.add_attachment(
        text_pdf(render_labelled(boxes)),
        maintype="application",
        subtype="pdf",
        filename="BHP-88231.pdf",
    )

    hours = priced_invoice(
        "Keller Industrial Services",
        "KIS-0042-7",
        today,
        "PO-00077",  # no such order
        [("MAINT-H", "Maintenance technician hour", "6", "68.00")],
        due=due,
    )
    unknown_po = _mail(
        "office@keller.example", "Invoice KIS-0042-7", "\n".join(render_labelled(hours)) + "\n"
    )

    again = _mail(
        "billing@northwind.example", "Invoice NWM-2026-0412 (copy)", "A copy for your records.\n"
    )
    again.add_attachment(
        text_pdf(render_labelled(northwind)),
        maintype="application",
        subtype="pdf",
        filename="NWM-2026-0412-copy.pdf",
    )
    return [
        Sample("matching UBL e-invoice, 20% VAT", "paid without a person", matching),
        Sample("over-priced PDF", "waits for approval (price 9.5% over the order)", overpriced),
        Sample("plain-text mail, unknown PO", "waits for a person (PO-00077 unknown)", unknown_po),
        Sample("the first invoice again", "stopped as a duplicate", again, after_first=True),
    ]
