"""Approval policy: who may answer an interrupt, checked when a resume is admitted.

Two rules, each configured per graph (settings `approval_*`):

- four-eyes: nobody who started a run on the thread, owns it or edited its state may approve
  its interrupt (who did is read from the runs and from the audit trail's `thread.update_state`
  records, so the rule rests on recorded facts, not on the payload);
- two approvers: the interrupt needs approvals from two distinct identities (for the graph, or
  for any interrupt whose amount is above a threshold); the first approval is recorded in the
  audit trail (`approval.recorded`) and answered 403 saying one more is needed; the second,
  from someone else, resumes the run.

- expiry: an interrupt unanswered for longer than `approval_expire_hours` is overdue; it is
  escalated (an `approval.escalated` record naming `approval_escalate_to`, and a notice posted
  to `approval_escalate_webhook`, once, whichever process sees it first: the sweep of
  `escalation`, a resume or the inbox) and from then on only that role may approve it.
  `pending` lists waiting interrupts with these facts, for the approvals inbox.

Every record of a decision (`run.resume`, `approval.recorded`, `approval.refused`,
`approval.escalated`) carries `policy_version`: the digest of the rules in force, after the
operator's `approval_policy_version` label when one is set, so an auditor can tell which rules
decided.

A state update of an interrupted thread that a rule governs is refused (it could answer the
interrupt around the rules). A rejection is never blocked: the rules guard approving, not stopping. Without authentication
there is no identity to compare, and the rules do not apply (the server refuses to listen on a
network that way).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final

from agent_ops.errors import Forbidden
from agent_ops.governance import audit
from agent_ops.governance.identity import Identity, Role, bind_caller, caller
from agent_ops.settings import Settings
from agent_ops.storage import AuditRecord, Notice, Page, Storage, Thread, ThreadFilter

__all__ = ["ESCALATED", "REJECTIONS", "ApprovalPolicy", "PendingApproval"]

ESCALATED: Final = "approval.escalated"
"""The audit action, and the notice's `type`, of an approval that waited too long."""

REJECTIONS = frozenset({"ignore", "response", "reject", "rejected", "deny", "denied"})
"""Decisions that stop rather than approve (agent-inbox's `ignore`/`response`, plain words)."""


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """An interrupt waiting for a decision, as the approvals inbox shows it."""

    thread_id: str
    graph_id: str
    interrupts: list[str]
    waiting_since: datetime
    waited_hours: float
    rules: list[str]
    approvers: list[str]
    """Who has approved it so far (under the two-approver rule)."""
    overdue: bool
    escalated_to: Role | None


# The rules whose setting is not `approval_<rule>`.
_SETTING: Final = {"label": "policy_version"}


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """The approval rules in force, read once from the settings."""

    four_eyes: frozenset[str] = frozenset()
    two_approvers: frozenset[str] = frozenset()
    two_approvers_above: float | None = None
    amount_field: str = "total"
    expire_hours: float | None = None
    escalate_to: Role = "admin"
    escalate_webhook: str | None = None
    escalate_mail: str | None = None
    label: str | None = None
    """The operator's name for this policy (`approval_policy_version`), shown before its digest."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ApprovalPolicy:
        # Each rule is the setting `approval_<rule>` (the label is `approval_policy_version`);
        # a list of graph ids is kept as a set.
        rules: dict[str, Any] = {}
        for rule in fields(cls):
            value = getattr(settings, f"approval_{_SETTING.get(rule.name, rule.name)}")
            rules[rule.name] = frozenset(value) if isinstance(value, list) else value
        return cls(**rules)

    @property
    def version(self) -> str:
        """The rules' identity: `sha256:` and 16 hex digits of the canonical JSON of every rule
        (where notices go is not a rule), after the operator's label (`v3 sha256:...`)."""
        rules = {
            "four_eyes": sorted(self.four_eyes),
            "two_approvers": sorted(self.two_approvers),
            "two_approvers_above": _number(self.two_approvers_above),
            "amount_field": self.amount_field,
            "expire_hours": _number(self.expire_hours),
            "escalate_to": self.escalate_to,
        }
        digest = "sha256:" + hashlib.sha256(audit.canonical(rules).encode()).hexdigest()[:16]
        return f"{self.label} {digest}" if self.label else digest

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
        overdue = await self.escalate_if_overdue(storage, thread)
        if overdue:
            rules.append("expiry")
        facts: dict[str, Any] = {"policy": rules, "policy_version": self.version}
        if not rules or answers.get("decision") in REJECTIONS:
            return facts if rules else {"policy_version": self.version}
        me = identity.subject
        if overdue and not identity.allows(self.escalate_to):
            await self._refuse(
                storage,
                thread,
                answers,
                f"expiry rule (AGENT_OPS_APPROVAL_EXPIRE_HOURS={self.expire_hours:g}): the "
                f"approval of thread {thread.thread_id} has waited {overdue:.1f} h and is "
                f"escalated to role {self.escalate_to!r}; {me!r} has role {identity.role!r}",
            )
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
                    detail={
                        **answers,
                        "policy": rules,
                        "policy_version": self.version,
                        "approvals": 1,
                        "needed": 2,
                    },
                    tenant=thread.tenant_id,
                )
                raise Forbidden(
                    f"two-approver rule: the approval of {me!r} for interrupt {_ids(answers)} "
                    f"of thread {thread.thread_id} is recorded (1 of 2); a second, different "
                    "approver must approve before the run resumes"
                )
            facts["approvers"] = [*sorted(earlier), me]
        return facts

    async def guard_state_update(
        self, storage: Storage, thread: Thread, identity: Identity | None
    ) -> None:
        """Refuse a state update of an interrupted thread that a rule governs: written as the
        paused node, it would answer the interrupt around the rules (Forbidden naming them)."""
        if identity is None or thread.status != "interrupted":
            return
        graph_id = str(thread.metadata.get("graph_id") or "")
        rules = self.rules_for(graph_id, thread.interrupts)
        if self.expire_hours is not None:
            rules.append("expiry")
        if rules:
            await self._refuse(
                storage,
                thread,
                audit.answers(thread.interrupts, None),
                f"approval policy ({', '.join(rules)}) governs the interrupt of thread "
                f"{thread.thread_id}: answer it with a resume (command.resume), which the "
                "policy checks, not with a state update",
            )

    def waited_hours(self, thread: Thread, now: datetime | None = None) -> float:
        """How long the thread's interrupt has waited (since the thread last changed)."""
        return ((now or datetime.now(UTC)) - thread.updated_at).total_seconds() / 3600

    def overdue(self, thread: Thread, now: datetime | None = None) -> float | None:
        """The hours an interrupted thread has waited, when that is longer than
        `expire_hours`; None otherwise (or when it is not interrupted, or nothing expires)."""
        if self.expire_hours is None or thread.status != "interrupted":
            return None
        waited = self.waited_hours(thread, now)
        return waited if waited > self.expire_hours else None

    async def escalate_if_overdue(
        self, storage: Storage, thread: Thread, now: datetime | None = None
    ) -> float | None:
        """The hours an overdue interrupt has waited (None when it is not overdue). The first
        caller, in any process, to find it overdue escalates it: an `approval.escalated` record
        naming the role it goes to, and a notice queued for `escalate_webhook`."""
        waited = self.overdue(thread, now)
        if waited is None:
            return None
        interrupts = audit.answers(thread.interrupts, None)["interrupts"]
        key = audit.digest(interrupts) or ""
        facts = {
            "interrupts": interrupts,
            "waited_hours": round(waited, 3),
            "expire_hours": self.expire_hours,
            "escalated_to": self.escalate_to,
            "policy_version": self.version,
        }
        # Where the notice goes, and the id receivers dedupe on (a mail's Message-ID derives
        # from it): one per way, stable for this thread's interrupts.
        targets = [
            (url, f"esc_{thread.thread_id}_{key[:16]}{suffix}")
            for url, suffix in (
                (self.escalate_webhook, ""),
                (f"mailto:{self.escalate_mail}" if self.escalate_mail else None, "_mail"),
            )
            if url
        ]
        notices = []
        if targets:
            runs = await storage.list_runs(thread.thread_id, limit=1)
            payload = {
                "type": ESCALATED,
                "tenant_id": thread.tenant_id,
                "thread_id": thread.thread_id,
                "graph_id": thread.metadata.get("graph_id"),
                "waiting_since": thread.updated_at.isoformat(),
                **facts,
            }
            run_id = runs[0].run_id if runs else ""
            notices = [Notice(message_id, run_id, url, payload) for url, message_id in targets]
        if await storage.claim_escalation(thread.tenant_id, thread.thread_id, key, notices):
            if notices:
                facts["notified"] = {n.url: n.message_id for n in notices}
            # The escalation is the clock's doing, not the doing of whoever's request found it
            # overdue (a resume, the inbox): the row's actor is `system`.
            seen_by = caller()
            bind_caller(None)
            try:
                await audit.record(
                    storage,
                    ESCALATED,
                    "thread",
                    thread.thread_id,
                    detail=facts,
                    tenant=thread.tenant_id,
                    actor="system",
                )
            finally:
                bind_caller(seen_by)
        return waited

    async def pending(self, storage: Storage, tenant: str | None) -> list[PendingApproval]:
        """The interrupted threads of `tenant` (every tenant's for None), oldest first, with the
        rules that apply, approvals recorded so far, and whether each is overdue."""
        found = []
        threads = await storage.search_threads(
            ThreadFilter(status="interrupted", tenant_id=tenant), Page(1000, 0, "updated_at", "asc")
        )
        for thread in threads:
            graph_id = str(thread.metadata.get("graph_id") or "")
            interrupts = audit.answers(thread.interrupts, None)["interrupts"]
            overdue = await self.escalate_if_overdue(storage, thread)
            found.append(
                PendingApproval(
                    thread_id=thread.thread_id,
                    graph_id=graph_id,
                    interrupts=interrupts,
                    waiting_since=thread.updated_at,
                    waited_hours=round(self.waited_hours(thread), 3),
                    rules=self.rules_for(graph_id, thread.interrupts),
                    approvers=sorted(await _approvers(storage, thread, interrupts)),
                    overdue=overdue is not None,
                    escalated_to=self.escalate_to if overdue is not None else None,
                )
            )
        return found

    async def _refuse(
        self, storage: Storage, thread: Thread, answers: Mapping[str, Any], reason: str
    ) -> None:
        await audit.record(
            storage,
            "approval.refused",
            "thread",
            thread.thread_id,
            outcome="denied",
            detail={**answers, "reason": reason, "policy_version": self.version},
            tenant=thread.tenant_id,
        )
        raise Forbidden(reason)


def _thread_audit(storage: Storage, thread: Thread, action: str) -> AsyncIterator[AuditRecord]:
    """The thread's audit rows of `action`, in chain order."""
    return audit.read(
        storage,
        tenant_id=thread.tenant_id,
        action=action,
        resource_type="thread",
        resource_id=thread.thread_id,
    )


async def _involved(storage: Storage, thread: Thread) -> dict[str, str]:
    """Who took part in the thread, with what they did: owned it, started a run, edited it."""
    found = {thread.owner: "owns"}
    for run in await storage.list_runs(thread.thread_id, limit=1000):
        found.setdefault(run.owner, "started a run on")
    async for row in _thread_audit(storage, thread, "thread.update_state"):
        found.setdefault(row.actor, "edited the state of")
    return found


async def _approvers(storage: Storage, thread: Thread, interrupts: list[str]) -> set[str]:
    """Who has already approved this very interrupt (the same ids) of the thread."""
    approvers = set()
    async for row in _thread_audit(storage, thread, "approval.recorded"):
        if audit.view(row)["detail"].get("interrupts") == interrupts:
            approvers.add(row.actor)
    return approvers


def _number(value: float | None) -> float | None:
    # 4 and 4.0 are one rule; canonical JSON would spell them apart.
    return None if value is None else float(value)


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
