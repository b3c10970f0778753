"""The mail each case arrives in: a real RFC 5322 message (From with a display name, the
document attached, or the invoice written in the body), turned into the workflow's intake by the
same parser the mail trigger uses."""

from __future__ import annotations

import datetime as dt
import random
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from evals.invoices._cases import INJECTION, Case
from evals.invoices._locale import LABELS
from evals.invoices._parties import BUYER, Hand, Vendor
from tools.mail import parse_mail


def text_invoice(case: Case, vendor: Vendor) -> str:
    """The invoice (or delivery note) written in a mail body, in one of three ways a vendor's
    clerk writes one: labelled lines and a spaced table, prose with item bullets, a pipe table."""
    rng = random.Random(case.style)
    t = case.printed
    labels = LABELS[vendor.lang]
    hand = Hand(vendor, t.currency, rng.choice(vendor.dates))
    way = rng.randrange(3)
    money = hand.money

    out = [
        labels["greeting"],
        "",
        labels["attached"] if case.invoice else labels["delivery"].capitalize(),
        "",
    ]
    if case.invoice:
        head = [
            (labels["number"], t.invoice_number),
            (labels["date"], hand.date(t.issue_date)),
            (labels["due"], hand.date(t.due_date)),
        ]
    else:
        head = [
            (labels["delivery_no"], f"DN-{t.invoice_number}"),
            (labels["note_date"], hand.date(t.issue_date)),
        ]
    if t.po_number:
        head.append((labels["order"], t.po_number))
    if way == 1:  # prose
        out.append(" ".join(f"{label} {value}." for label, value in head))
    else:
        out += [f"{label}: {value}" for label, value in head]
    out.append("")
    for number, line in enumerate(t.lines, 1):
        qty = hand.quantity(line.quantity)
        unit = hand.unit(line.product_code)
        price = hand.price(line.unit_price)
        amount = hand.number(line.amount)
        if not case.invoice:
            out.append(
                f"{number}. {qty} {unit} {line.description} ({line.product_code}) - {labels['delivered']}"
            )
        elif way == 0:
            out.append(
                f"{line.product_code:<12} {line.description:<40} {qty:>6} {unit:<4} {price:>10} {amount:>12}"
            )
        elif way == 1:
            out.append(
                f"- {qty} {unit} {line.description} [{line.product_code}] x {price} = {amount}"
            )
        else:
            out.append(
                f"| {number} | {line.description} | {line.product_code} | {qty} | {price} | {amount} |"
            )
    if case.invoice:
        out += [
            "",
            f"{labels['subtotal']}: {money(t.subtotal)}",
            f"{labels['vat'].format(rate='20')}: {money(t.tax)}",
            f"{labels['total']}: {money(t.total)}",
        ]
    if case.injection:
        out += ["", INJECTION]
    out += [
        "",
        labels["terms"] if case.invoice else "",
        f"{labels['iban']}: {vendor.iban}",
        "",
        labels["regards"],
        vendor.local_name or vendor.name,
        vendor.name if vendor.local_name else "",
        f"{vendor.street}, {vendor.city}, {vendor.country}",
        f"{vendor.tax_label}: {vendor.tax_id}",
    ]
    return "\n".join(out).strip() + "\n"


def _cover(vendor: Vendor, case: Case) -> str:
    labels = LABELS[vendor.lang]
    return (
        f"{labels['greeting']}\n\n{labels['attached'] if case.invoice else labels['delivery']}\n\n"
        f"{labels['regards']}\n{vendor.display}\n"
    )


def message(
    case: Case, vendor: Vendor | None, attachment: tuple[str, str, bytes] | None, body: str | None
) -> bytes:
    """The raw mail of a case: From, To, Subject, Date, the body and at most one attachment."""
    mail = EmailMessage()
    mail["From"] = case.sender
    mail["To"] = f"{BUYER.name} Accounts Payable <ap@acme-manufacturing.example>"
    mail["Subject"] = case.subject
    mail["Date"] = format_datetime(dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC))
    mail["Message-ID"] = make_msgid(idstring=case.id.replace("-", ""), domain="eval.example")
    mail.set_content(
        body if body is not None else (_cover(vendor, case) if vendor else "See attached.\n")
    )
    if attachment is not None:
        filename, media_type, data = attachment
        main, _, sub = media_type.partition("/")
        mail.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return mail.as_bytes()


def intake(case: Case, raw: bytes) -> dict[str, Any]:
    """The workflow's `intake` input for a raw mail, as the mail trigger makes it."""
    received = dt.datetime(2026, 12, 4, 9, 31, tzinfo=dt.UTC)
    payload = parse_mail(raw, key=f"eval/{case.id}", received_at=received)
    return payload.model_dump(mode="json")
