"""What the invoice workflow lets through without a person, set per assistant.

Pass overrides as `configurable.invoice_policy` on an assistant, a trigger or a run, e.g.
`{"price_tolerance_pct": 1, "auto_approve_limit": 5000}`. The policy in force when an invoice is
received is recorded in its state and holds for the rest of its life: the run that resumes it
after a review cannot loosen it, and an auditor sees what applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ops.errors import InvalidInput, validation_text
from tools.mail import Address


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
    reviewers: list[Address] = Field(
        default_factory=list,
        description="mailed when an invoice waits for a person (none: no mail, see the API)",
    )


def policy_of(config: RunnableConfig | None) -> Policy:
    """The run's policy; a bad override is an InvalidInput naming the field."""
    raw: Any = ((config or {}).get("configurable") or {}).get("invoice_policy") or {}
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(
            f"configurable.invoice_policy is invalid: {validation_text(exc)}"
        ) from exc


def policy_in(state: Mapping[str, Any], config: RunnableConfig | None) -> Policy:
    """The policy in force for this invoice: the one recorded when it was received (a resuming
    run's config does not change it), else the run's."""
    recorded = state.get("policy")
    return Policy.model_validate(recorded) if recorded is not None else policy_of(config)
