"""What the invoice workflow lets through without a person, set per assistant.

Pass overrides as `configurable.invoice_policy` on an assistant or a run, e.g.
`{"price_tolerance_pct": 1, "auto_approve_limit": 5000}`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ops.errors import InvalidInput, validation_text


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    price_tolerance_pct: Decimal = Field(
        default=Decimal("2"), ge=0, description="unit price may differ from the PO by this %"
    )
    amount_tolerance: Decimal = Field(
        default=Decimal("0.02"), ge=0, description="rounding allowed on amounts and totals"
    )
    require_receipt: bool = Field(
        default=True, description="three-way match: bill no more than was received"
    )
    min_confidence: float = Field(
        default=0.8, ge=0, le=1, description="extracted fields below this go to a person"
    )
    auto_approve_limit: Decimal | None = Field(
        default=None, ge=0, description="totals above this always go to a person"
    )
    notify_sender: bool = Field(default=True, description="mail the sender the outcome")


def policy_of(config: RunnableConfig | None) -> Policy:
    """The run's policy; a bad override is an InvalidInput naming the field."""
    raw: Any = ((config or {}).get("configurable") or {}).get("invoice_policy") or {}
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(
            f"configurable.invoice_policy is invalid: {validation_text(exc)}"
        ) from exc
