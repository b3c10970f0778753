"""Approval policy: who may answer an interrupt, checked when a resume is admitted.

Two rules, each configured per graph (settings `approval_*`):

- four-eyes: nobody who started a run on the thread, owns it or edited its state may approve
  its interrupt (who did is read from the runs and from the audit trail's `thread.update_state`
  records, so the rule rests on recorded facts, not on the payload);
- two approvers: the interrupt needs approvals from two distinct identities (for the graph, or
  for any interrupt whose amount is above a threshold); the first approval is recorded in the
  audit trail (`approval.recorded`) and answered 403 saying one more is needed; the second,
  from someone else, resumes the run.

A rejection is never blocked: the rules guard approving, not stopping. Without authentication
there is no identity to compare, and the rules do not apply (the server refuses to listen on a
network that way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent_ops.errors import Forbidden
from agent_ops.governance import audit
from agent_ops.governance.identity import Identity
from agent_ops.settings import Settings
from agent_ops.storage import Storage, Thread

__all__ = ["ApprovalPolicy", "REJECTIONS"]

REJECTIONS = frozenset({"ignore", "response", "reject", "rejected", "deny", "denied"})
"""Decisions that stop rather than approve (agent-inbox's `ignore`/`response`, plain words)."""


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """The approval rules in force, read once from the settings."""

    four_eyes: frozenset[str] = frozenset()
    two_approvers: frozenset[str] = frozenset()
    two_approvers_above: float | None = None
    amount_field: str = "total"

    @classmethod
    def from_settings(cls, settings: Settings) -> ApprovalPolicy:
        return cls(
            four_eyes=frozenset(settings.approval_four_eyes),
            two_approvers=frozenset(settings.approval_two_approvers),
            two_approvers_above=settings.approval_two_approvers_above,
            amount_field=settings.approval_amount_field,
        )

    def rules_for(self, graph_id: str, interrupts: Any) -> list[str]:
        """The rules that apply to a thread of `graph_id` paused on `interrupts`."""
        rules = []
        if graph_id in self.four_eyes or "*" in self.four_eyes:
            rules.append("four-eyes")
        amount = _amount(interrupts, self.amount_field)
        above = self.two_approvers_above
        if (
            graph_id in self.two_approvers
            or "*" in self.two_approvers
            or (above is not None and amount is not None and amount > above)
        ):
            rules.append("two-approvers")
        return rules

    async def check(
        self, storage: Storage, thread: Thread, identity: Identity, answers: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Admit `identity`'s answer to the thread's interrupt, or raise Forbidden naming the
        rule (after recording the refusal, or the first of two approvals, in the audit trail).
        Return what the resume's audit record adds: the rules applied and the approvers."""
        graph_id = str(thread.metadata.get("graph_id") or "")
        rules = self.rules_for(graph_id, thread.interrupts)
        if not rules or answers.get("decision") in REJECTIONS:
            return {"policy": rules} if rules else {}
        me = identity.subject
        facts: dict[str, Any] = {"policy": rules}
        if "four-eyes" in rules:
            involved = await _involved(storage, thread)
            if me in involved:
                await self._refuse(
                    storage,
                    thread,
                    answers,
                    f"four-eyes rule (AGENT_OPS_APPROVAL_FOUR_EYES includes {graph_id!r}): "
                    f"{me!r} {involved[me]} thread {thread.thread_id} and may not approve it; "
                    "another approver must",
                )
        if "two-approvers" in rules:
            earlier = await _approvers(storage, thread, answers.get("interrupts") or [])
            if me in earlier:
                await self._refuse(
                    storage,
                    thread,
                    answers,
                    f"two-approver rule: {me!r} has already approved interrupt "
                    f"{_ids(answers)} of thread {thread.thread_id}; a second, different "
                    "approver must approve it",
                )
            if not earlier:
                await audit.record(
                    storage,
                    "approval.recorded",
                    "thread",
                    thread.thread_id,
                    detail={**answers, "policy": rules, "approvals": 1, "needed": 2},
                    tenant=thread.tenant_id,
                )
                raise Forbidden(
                    f"two-approver rule: the approval of {me!r} for interrupt {_ids(answers)} "
                    f"of thread {thread.thread_id} is recorded (1 of 2); a second, different "
                    "approver must approve before the run resumes"
                )
            facts["approvers"] = [*sorted(earlier), me]
        return facts

    async def _refuse(
        self, storage: Storage, thread: Thread, answers: Mapping[str, Any], reason: str
    ) -> None:
        await audit.record(
            storage,
            "approval.refused",
            "thread",
            thread.thread_id,
            outcome="denied",
            detail={**answers, "reason": reason},
            tenant=thread.tenant_id,
        )
        raise Forbidden(reason)


async def _involved(storage: Storage, thread: Thread) -> dict[str, str]:
    """Who took part in the thread, with what they did: owned it, started a run, edited it."""
    found = {thread.owner: "owns"}
    for run in await storage.list_runs(thread.thread_id, limit=1000):
        found.setdefault(run.owner, "started a run on")
    async for row in audit.read(
        storage,
        tenant_id=thread.tenant_id,
        action="thread.update_state",
        resource_type="thread",
        resource_id=thread.thread_id,
    ):
        found.setdefault(row.actor, "edited the state of")
    return found


async def _approvers(storage: Storage, thread: Thread, interrupts: list[str]) -> set[str]:
    """Who has already approved this very interrupt (the same ids) of the thread."""
    approvers = set()
    async for row in audit.read(
        storage,
        tenant_id=thread.tenant_id,
        action="approval.recorded",
        resource_type="thread",
        resource_id=thread.thread_id,
    ):
        if audit.view(row)["detail"].get("interrupts") == interrupts:
            approvers.add(row.actor)
    return approvers


def _ids(answers: Mapping[str, Any]) -> str:
    return ", ".join(answers.get("interrupts") or []) or "(none)"


def _amount(value: Any, field: str) -> float | None:
    """The first number under key `field` anywhere in an interrupt value."""
    if isinstance(value, Mapping):
        found = value.get(field)
        if isinstance(found, int | float) and not isinstance(found, bool):
            return float(found)
        if isinstance(found, str):
            try:
                return float(found)
            except ValueError:
                found = None  # text that is no number: look further down
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        amount = _amount(item, field)
        if amount is not None:
            return amount
    return None
