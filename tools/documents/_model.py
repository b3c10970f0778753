"""The model reading: the `extract` role answers with a schema the grammar can hold it to.

The schema the model sees is flat text with patterns (dates, amounts, codes) and bounded
lengths, because a small model such as the embedded SmolLM2-135M keeps to a grammar but not to
good sense; converting it to `Invoice` is part of its validation, so an impossible date or
amount is re-asked (the role's repair) rather than accepted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent_ops.models import Models
from tools.documents._invoice import Invoice, InvoiceLine

PROMPT = "extract_invoice"
ROLE = "extract"
MAX_TEXT = 6000  # characters of document text sent: SmolLM2's 4096-token window, answer included
# llama.cpp's grammar converter takes no escapes in patterns: `[.]` for a dot, `-` last in a class.
_NUMBER = r"^-?[0-9]{1,9}([.][0-9]{1,4})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelLine(_Strict):
    description: str = Field(min_length=1, max_length=80)
    quantity: str = Field(pattern=_NUMBER)
    unit_price: str = Field(pattern=_NUMBER)
    amount: str = Field(pattern=_NUMBER)


class ModelInvoice(_Strict):
    """What the model fills: every value as text, held to a pattern."""

    vendor_name: str = Field(min_length=1, max_length=80)
    vendor_tax_id: str = Field(max_length=30, pattern=r"^[A-Za-z0-9 ./-]*$")
    invoice_number: str = Field(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./_-]*$"
    )
    issue_date: str = Field(pattern=_DATE)
    due_date: str = Field(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    po_number: str = Field(max_length=40, pattern=r"^[A-Za-z0-9 ./_-]*$")
    lines: list[ModelLine] = Field(min_length=1, max_length=6)
    subtotal: str = Field(pattern=_NUMBER)
    tax: str = Field(pattern=_NUMBER)
    total: str = Field(pattern=_NUMBER)

    @model_validator(mode="after")
    def _is_an_invoice(self) -> ModelInvoice:
        self.to_invoice()  # an impossible date is a validation error, so the role re-asks
        return self

    def to_invoice(self) -> Invoice:
        try:
            return Invoice(
                vendor_name=self.vendor_name.strip(),
                vendor_tax_id=self.vendor_tax_id.strip() or None,
                invoice_number=self.invoice_number.strip(),
                issue_date=dt.date.fromisoformat(self.issue_date),
                due_date=dt.date.fromisoformat(self.due_date) if self.due_date else None,
                currency=self.currency,
                po_number=self.po_number.strip() or None,
                lines=[
                    InvoiceLine(
                        description=line.description.strip(),
                        quantity=Decimal(line.quantity),
                        unit_price=Decimal(line.unit_price),
                        amount=Decimal(line.amount),
                    )
                    for line in self.lines
                ],
                subtotal=Decimal(self.subtotal),
                tax=Decimal(self.tax),
                total=Decimal(self.total),
            )
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


async def read_with_model(models: Models, text: str) -> tuple[Invoice, str]:
    """Ask the `extract` role; return the invoice and a source naming provider and prompt.

    Raises ModelUnavailable when every provider failed (or inside a graph, pauses for a person
    when the role is configured so).
    """
    prompt = models.prompts.get(PROMPT)
    request = prompt.render(text=text[:MAX_TEXT])
    # A failed model is this reading's problem (review=True), not a pause of its own: the
    # workflow that called extraction decides how a person sees it.
    role = models.role(ROLE, on_failure="error")
    answer = await role.with_structured_output(ModelInvoice).ainvoke(request)
    providers = ",".join(models.config.role(ROLE).providers)
    return answer.to_invoice(), f"{providers} {prompt.name}@{prompt.version}"
