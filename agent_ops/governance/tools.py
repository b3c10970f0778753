"""Tool permissions: which side-effecting connector calls a graph's runs may make, checked at
the connectors' one door for writes, and the one audit row each write leaves.

The executor binds a `ToolScope` (graph, tenant, owner, run, thread, the trail, the allow-lists)
for the task that runs a graph, so every node, tool and client the graph reaches inherits it,
whichever code path calls. A write (`guarded`) that the graph's allow-list does not name is
refused with `Forbidden` naming the setting, after a `tool.denied` row; an allowed one runs and
leaves one `tool.call` row (input and output digests, idempotency key, ok or error). A write
named by `AGENT_OPS_TOOL_APPROVAL` also needs the run to resume an approver's answer. A write
inside an allowed write of the same system (a tool's own HTTP calls) is part of it: neither
checked again nor recorded again. Outside any run (a script or a test holding the connector and
its credentials itself) there is no graph to ask: writes are neither checked nor recorded.

Reads are never checked nor recorded: the allow-list is about what changes a system.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel

from agent_ops.errors import ConfigError, Forbidden
from agent_ops.governance import audit
from agent_ops.storage import AuditTrail

if TYPE_CHECKING:
    from agent_ops.settings import Settings

__all__ = [
    "APPROVAL_SETTING",
    "SETTING",
    "SHIPPED",
    "ToolPermissions",
    "ToolScope",
    "bind_scope",
    "guarded",
    "reset_scope",
    "scope",
]

T = TypeVar("T")

SETTING: Final = "AGENT_OPS_TOOL_ALLOW"
APPROVAL_SETTING: Final = "AGENT_OPS_TOOL_APPROVAL"

SHIPPED: Final[Mapping[str, tuple[str, ...]]] = {
    # The shipped invoice workflow books, posts and pays in Tryton and mails the sender; it
    # pays only invoices its own checks and, where they ask, a person approved.
    "invoice_approval": ("tryton", "smtp"),
}
"""The allow-lists agent-ops ships with; `AGENT_OPS_TOOL_ALLOW` replaces a graph's entry."""

DEFAULT_KEY: Final = "*"
"""The allow-list key for every graph not named (none by default: those graphs only read)."""


@dataclass(frozen=True, slots=True)
class ToolPermissions:
    """Per graph id, the writes its runs may make: patterns matched (as globs) against the
    system (`tryton`, `smtp`, `sql`, `mcp:files`) or `system:operation` (`tryton:tryton_pay_*`,
    `sql:sql_set_iban`); `*` is every write."""

    allow: Mapping[str, tuple[str, ...]]
    approval: tuple[str, ...] = ()
    """Writes (the same patterns) that run only in a run resumed by a person's answer."""

    @classmethod
    def of(
        cls,
        declared: Mapping[str, Sequence[str]] | None = None,
        approval: Sequence[str] = (),
    ) -> ToolPermissions:
        """The shipped allow-lists with `declared` over them, graph by graph; `approval`: the
        writes that also need a person's answer in the run."""
        merged = dict(SHIPPED)
        for graph_id, patterns in (declared or {}).items():
            if isinstance(patterns, str):
                raise ConfigError(
                    f"{SETTING}[{graph_id!r}] is the string {patterns!r}; give a list: "
                    f'{{"{graph_id}": ["{patterns}"]}}'
                )
            for pattern in patterns:
                if not isinstance(pattern, str) or not pattern.strip():
                    raise ConfigError(
                        f"{SETTING}[{graph_id!r}] holds {pattern!r}; a pattern is a system "
                        "(`tryton`) or system:operation (`sql:sql_set_*`)"
                    )
            merged[graph_id] = tuple(p.strip() for p in patterns)
        return cls(merged, tuple(p.strip() for p in approval if p.strip()))

    @classmethod
    def from_settings(cls, settings: Settings) -> ToolPermissions:
        return cls.of(settings.tool_allow, settings.tool_approval)

    def patterns(self, graph_id: str) -> tuple[str, ...]:
        """The patterns that apply to `graph_id`: its own, else the `*` entry, else none."""
        if graph_id in self.allow:
            return self.allow[graph_id]
        return self.allow.get(DEFAULT_KEY, ())

    def allows(self, graph_id: str, system: str, operation: str) -> bool:
        """Whether a run of `graph_id` may make the write `operation` on `system`."""
        full = f"{system}:{operation}"
        return any(fnmatchcase(system, p) or fnmatchcase(full, p) for p in self.patterns(graph_id))

    def approval_rule(self, system: str, operation: str) -> str | None:
        """The `approval` pattern that makes this write wait for a person's answer, if any."""
        full = f"{system}:{operation}"
        return next(
            (p for p in self.approval if fnmatchcase(system, p) or fnmatchcase(full, p)), None
        )

    def refusal(self, graph_id: str, system: str, operation: str) -> str:
        """Why the write is refused, and the setting that would allow it."""
        listed = self.patterns(graph_id)
        if graph_id in self.allow:
            has = f"its allow-list is {list(listed)}"
        elif listed:
            has = f"it is not named, so the {DEFAULT_KEY!r} entry {list(listed)} applies"
        else:
            has = "it has no allow-list, so its runs may only read"
        return (
            f"graph {graph_id!r} may not call {operation} (a write to {system}): {has}; to "
            f'allow it add "{system}:{operation}" (or "{system}") to {SETTING}["{graph_id}"]'
        )


@dataclass(frozen=True, slots=True)
class ToolScope:
    """The run a graph's writes belong to, bound by the executor for the run's task."""

    graph_id: str
    tenant: str
    owner: str
    run_id: str
    thread_id: str | None
    trail: AuditTrail
    permissions: ToolPermissions
    resumed_by: str | None = None
    """Who answered the interrupt this run resumes (the approver the run admission checked);
    None for a run that answers nobody's question, or that nobody authenticated resumed."""


_scope: ContextVar[ToolScope | None] = ContextVar("agent_ops_tool_scope", default=None)
# The system and row facts of the allowed write in progress: its own inner writes are part of
# it (a key only the inner write knows, as an OpenAPI tool's, is added to the outer row).
_inside: ContextVar[tuple[str, dict[str, Any]] | None] = ContextVar(
    "agent_ops_tool_inside", default=None
)


def bind_scope(value: ToolScope | None) -> Token[ToolScope | None]:
    """Make `value` the scope of the rest of this task (and the tasks it starts)."""
    return _scope.set(value)


def reset_scope(token: Token[ToolScope | None]) -> None:
    _scope.reset(token)


def scope() -> ToolScope | None:
    """The run whose graph is calling; None outside a run."""
    return _scope.get()


async def guarded(
    system: str,
    operation: str,
    call: Callable[[], Awaitable[T]],
    *,
    payload: Any = None,
    key: str | None = None,
    output: Callable[[T], Any] | None = None,
) -> T:
    """Make the write `call` if the run's graph may, recording it; Forbidden otherwise.

    `operation` names the write as an allow-list names it (the tool's name, or the raw request
    when a graph calls a client directly); `payload` is what the digest of the input covers,
    `output` turns the result into what the output's digest covers (default: the result).
    """
    run = _scope.get()
    if run is None:
        return await call()
    outer = _inside.get()
    if outer is not None and outer[0] == system:
        if key is not None and outer[1].get("idempotency_key") is None:
            outer[1]["idempotency_key"] = key
        return await call()
    facts: dict[str, Any] = {
        "graph_id": run.graph_id,
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "system": system,
        "operation": operation,
        "idempotency_key": key,
    }
    resource = f"{system}:{operation}"
    given = _plain(payload)
    reason = None
    rule = run.permissions.approval_rule(system, operation)
    if not run.permissions.allows(run.graph_id, system, operation):
        reason = run.permissions.refusal(run.graph_id, system, operation)
    elif rule is not None and run.resumed_by is None:
        reason = (
            f"{operation} (a write to {system}) needs a person's approval "
            f"({APPROVAL_SETTING} includes {rule!r}): run {run.run_id} of graph "
            f"{run.graph_id!r} was not resumed by an approver's answer; the graph must ask "
            "(interrupt) and an approver resume it"
        )
    elif rule is not None:
        facts["approved_by"] = run.resumed_by
    if reason is not None:
        await _record(run, "tool.denied", resource, given, {**facts, "reason": reason}, "denied")
        raise Forbidden(reason)
    inside = _inside.set((system, facts))
    try:
        result = await call()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        await _record(run, "tool.call", resource, given, {**facts, "error": error}, "error")
        raise
    finally:
        _inside.reset(inside)
    facts["output_digest"] = audit.digest(_plain(output(result) if output else result))
    await _record(run, "tool.call", resource, given, facts, "ok")
    return result


async def _record(
    run: ToolScope,
    action: str,
    resource: str,
    payload: Any,
    facts: dict[str, Any],
    outcome: audit.Outcome,
) -> None:
    # The actor is the run's owner (the worker binds it as the caller; `owner` without auth).
    await audit.record(
        run.trail,
        action,
        "tool",
        resource,
        payload=payload if payload is not None else {},
        detail=facts,
        outcome=outcome,
        tenant=run.tenant,
        actor=run.owner,
    )


def _plain(value: Any) -> Any:
    """A value as JSON-like data for its digest (pydantic models and dataclasses included)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
