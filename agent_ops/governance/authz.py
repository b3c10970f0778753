"""A custom auth handler's `@auth.on` authorization handlers, applied as LangGraph's server
applies them, at the runtime's door (each use case calls one of these functions first).

The handler for a resource and action is found most specific first: `@auth.on.threads.create`,
then `@auth.on.threads`, then `@auth.on(actions="create")`, then the global `@auth.on`; with none,
the action is allowed. It is called with an `AuthContext` (the user the authenticate function
returned, its permissions, the resource and action) and `value`, the action's payload. It returns
None or True (allowed), False (403 naming the handler), or a filter on the resource's metadata
(`{"owner": "x"}`, `{"owner": {"$eq": "x"}}`, `{"tags": {"$contains": "x" | ["x", "y"]}}`, keys
ANDed): a resource that does not match is answered as missing (404), and searches and counts
hold only matching ones. What the handler writes into `value["metadata"]` (on a create, update
or run) and `value["namespace"]` (on a store action) is what is stored.

Everything here is a no-op unless the request was authenticated by a handler that registers
`@auth.on` handlers (`bind`), so the other ways of authenticating pay nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any, Final, TypeVar

from agent_ops.errors import AgentOpsError, ConfigError, Forbidden, NotFound
from agent_ops.governance import audit
from agent_ops.governance.tenancy import hidden, tenant_filter
from agent_ops.storage import AuditTrail, Page, Scoped, Storage, ThreadFilter
from agent_ops.types import Json

__all__ = [
    "ACTIONS",
    "Refused",
    "Filter",
    "Rules",
    "bind",
    "check",
    "guard_assistant",
    "guard_cron",
    "guard_run",
    "guard_thread",
    "matches",
    "narrowed",
    "readable_threads",
    "stamped",
    "store_namespace",
]

Filter = dict[str, Any]
"""A handler's filter on resource metadata; empty when it allowed without one."""

ACTIONS: Final[Mapping[str, frozenset[str]]] = {
    "threads": frozenset({"create", "read", "update", "delete", "search", "create_run"}),
    "assistants": frozenset({"create", "read", "update", "delete", "search"}),
    "crons": frozenset({"create", "read", "update", "delete", "search"}),
    "store": frozenset({"put", "get", "search", "delete", "list_namespaces"}),
}
"""The resources and actions agent-ops asks handlers about (LangGraph's own set)."""

_OPERATORS: Final = frozenset({"$eq", "$contains"})


class Refused(AgentOpsError):
    """A handler refused with its own `Auth.exceptions.HTTPException` status and detail."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


class Rules:
    """The `@auth.on` handlers of one `Auth` object, checked against what agent-ops applies."""

    def __init__(self, spec: str, auth: Any, trail: AuditTrail | None = None) -> None:
        self.spec = spec
        self.trail = trail
        """Where a refusal is recorded (the audit trail), as a role refusal is."""
        self._handlers: dict[tuple[str, str], Any] = {
            key: fns[-1] for key, fns in auth._handlers.items()
        }
        if auth._global_handlers:
            self._handlers[("*", "*")] = auth._global_handlers[-1]
        unknown = [f"{r}.{a}" for r, a in self._handlers if not _applied(r, a)]
        if unknown:
            raise ConfigError(
                f"auth handler {spec} registers @auth.on handlers for {', '.join(unknown)}, "
                "which agent-ops does not apply; it applies threads, assistants, crons and store "
                "actions (README: A LangGraph app's own auth handler)"
            )

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def handler(self, resource: str, action: str) -> tuple[str, Any] | None:
        """The most specific handler for `resource.action` and how it was registered."""
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            if key in self._handlers:
                r, a = key
                name = "@auth.on" + "".join(f".{p}" for p in (r, a) if p != "*")
                if r == "*" and a != "*":
                    name = f"@auth.on(actions={a!r})"
                return name, self._handlers[key]
        return None


def _applied(resource: str, action: str) -> bool:
    """Whether agent-ops asks a handler registered for `resource.action` anything."""
    if resource == "*":
        return action == "*" or any(action in acts for acts in ACTIONS.values())
    return resource in ACTIONS and (action == "*" or action in ACTIONS[resource])


@dataclass(frozen=True, slots=True)
class _Bound:
    rules: Rules
    user: Any
    permissions: Sequence[str]


_bound: ContextVar[_Bound | None] = ContextVar("agent_ops_authz", default=None)


def bind(rules: Rules | None, user: Any, permissions: Sequence[str]) -> None:
    """Apply `rules` for `user` for the rest of this request (the authenticate step calls it)."""
    _bound.set(_Bound(rules, user, permissions) if rules else None)


async def check(resource: str, action: str, value: dict[str, Any]) -> Filter:
    """Call the handler for `resource.action` with `value` (which it may change); return its
    filter ({} when it allowed without one). Forbidden naming it when it returns False."""
    bound = _bound.get()
    if bound is None:
        return {}
    found = bound.rules.handler(resource, action)
    if found is None:
        return {}
    name, fn = found
    from langgraph_sdk.auth.exceptions import HTTPException
    from langgraph_sdk.auth.types import AuthContext

    ctx = AuthContext(
        permissions=list(bound.permissions),
        user=bound.user,
        resource=resource,  # type: ignore[arg-type]  # one of LangGraph's literals, by ACTIONS
        action=action,  # type: ignore[arg-type]
    )
    doing = f"{resource}.{action}"
    try:
        result = await fn(ctx=ctx, value=value)
    except HTTPException as exc:
        refused = Refused(
            exc.status_code, f"auth handler {bound.rules.spec} ({name}, {doing}): {exc.detail}"
        )
        await _record(bound.rules, resource, value, refused)
        raise refused from exc
    if result is None or result is True:
        return {}
    if result is False:
        forbidden = Forbidden(
            f"{doing} refused by the auth handler {bound.rules.spec}: {name} "
            f"({getattr(fn, '__name__', fn)!s}) returned False"
        )
        await _record(bound.rules, resource, value, forbidden)
        raise forbidden
    if isinstance(result, dict):
        return _checked_filter(result, bound.rules.spec, name)
    raise AgentOpsError(
        f"auth handler {bound.rules.spec}: {name} returned {type(result).__name__}; "
        "it may return None, True, False or a filter dict"
    )


async def _record(rules: Rules, resource: str, value: Mapping[str, Any], exc: Exception) -> None:
    """Record a handler's refusal in the audit trail (a governed event, as a role refusal)."""
    if rules.trail is None:
        return
    named = next((value.get(k) for k in _IDS.get(resource, ()) if value.get(k)), None)
    await audit.record(
        rules.trail,
        "auth.forbidden",
        resource.removesuffix("s"),
        None if named is None else str(named),
        outcome="denied",
        detail={"reason": str(exc)},
    )


_IDS: Final = {
    "threads": ("thread_id",),
    "assistants": ("assistant_id",),
    "crons": ("cron_id",),
    "store": ("key",),
}


def _checked_filter(result: dict[Any, Any], spec: str, name: str) -> Filter:
    for key, rule in result.items():
        if isinstance(rule, dict):
            bad = sorted(set(rule) - _OPERATORS) or ([] if len(rule) == 1 else ["several"])
            if bad:
                raise AgentOpsError(
                    f"auth handler {spec}: {name} returned the filter {key!r}: {rule!r}; "
                    "agent-ops applies one of $eq, $contains per key"
                )
    return dict(result)


def matches(metadata: Mapping[str, Any], filter: Filter) -> bool:
    """Whether a resource's metadata satisfies every key of a handler's filter."""
    for key, rule in filter.items():
        have = metadata.get(key)
        if isinstance(rule, dict) and "$contains" in rule:
            wanted = rule["$contains"]
            items = wanted if isinstance(wanted, list) else [wanted]
            if not isinstance(have, list) or any(item not in have for item in items):
                return False
        elif have != (rule["$eq"] if isinstance(rule, dict) else rule):
            return False
    return True


def narrowed(metadata: Json | None, filter: Filter) -> Json | None:
    """A search's metadata containment with a handler's filter added (`$contains` as a list
    the stored list must hold); None when the two cannot both hold (the search finds nothing)."""
    merged: dict[str, Any] = dict(metadata or {})
    for key, want in stamped(filter).items():
        if key not in merged:
            merged[key] = want
        elif isinstance(merged[key], list) and isinstance(want, list):
            merged[key] = merged[key] + [w for w in want if w not in merged[key]]
        elif merged[key] != want:
            return None
    return merged


_Filter = TypeVar("_Filter", bound=Scoped)
_Found = TypeVar("_Found")


async def governed_query(
    resource: str, filter: _Filter, page: Page | None = None
) -> _Filter | None:
    """Ask the handler about a search (with its `page`) or count of `resource`: the value it
    reads is the filter's and page's fields, as LangGraph's handlers read a search. Return the
    filter over the caller's tenant with the handler's filter added to its metadata, or None
    when the two cannot both hold (the search finds nothing). What the handler changes in its
    copy is not searched for: only the filter it returns narrows the search."""
    asked = {f.name: copy.deepcopy(getattr(filter, f.name)) for f in fields(filter)}
    del asked["tenant_id"]  # the caller's, set below
    asked["metadata"] = asked["metadata"] or {}  # a dict, as LangGraph's handlers expect
    if page is not None:
        asked.update((f.name, getattr(page, f.name)) for f in fields(page))
    handlers = await check(resource, "search", asked)
    metadata = narrowed(filter.metadata, handlers) if handlers else filter.metadata
    if handlers and metadata is None:
        return None
    return replace(filter, metadata=metadata, tenant_id=tenant_filter())


async def governed_search(
    resource: str,
    filter: _Filter,
    page: Page,
    search: Callable[[_Filter, Page], Awaitable[list[_Found]]],
) -> list[_Found]:
    """Run a search of `resource` (`search`, a storage method) as `governed_query` asks."""
    asked = await governed_query(resource, filter, page)
    return [] if asked is None else await search(asked, page)


async def governed_count(
    resource: str, filter: _Filter, count: Callable[[_Filter], Awaitable[int]]
) -> int:
    """Run a count of `resource` (`count`, a storage method) as `governed_query` asks."""
    asked = await governed_query(resource, filter)
    return 0 if asked is None else await count(asked)


async def readable_threads(storage: Storage, thread_ids: Sequence[str]) -> set[str] | None:
    """Which of `thread_ids` the threads handler's read filter lets the caller see (None: all,
    there being no filter), in one query."""
    filter = await check("threads", "read", {"thread_id": None, "metadata": {}})
    if not filter or not thread_ids:
        return None
    found = await storage.search_threads(
        ThreadFilter(ids=list(thread_ids), metadata=narrowed(None, filter)),
        Page(limit=len(thread_ids)),
    )
    return {thread.thread_id for thread in found}


async def guard_thread(storage: Storage, action: str, value: dict[str, Any]) -> Filter:
    """Ask the threads handler about `value["thread_id"]`; a thread its filter does not match
    is answered as missing (a missing one is left to the use case). Return the filter."""
    filter = await check("threads", action, value)
    if filter and value.get("thread_id"):
        thread_id = str(value["thread_id"])
        thread = await storage.get_thread(thread_id)
        if not matches(thread.metadata, filter):
            raise hidden("thread", thread_id)
    return filter


async def guard_run(storage: Storage, value: dict[str, Any]) -> Filter:
    """Ask the threads handler about a run (`threads.create_run`); the run's thread, when it
    exists, must match its filter (else it is answered as missing). Return the filter."""
    filter = await check("threads", "create_run", value)
    if filter and value.get("thread_id"):
        thread_id = str(value["thread_id"])
        try:
            thread = await storage.get_thread(thread_id)
        except NotFound:
            return filter  # the run creates it (if_not_exists=create), carrying `stamped`
        if not matches(thread.metadata, filter):
            raise hidden("thread", thread_id)
    return filter


def stamped(filter: Filter) -> Json:
    """The metadata a new resource needs to match `filter`, so its creator still sees it."""
    needed: dict[str, Any] = {}
    for key, rule in filter.items():
        if isinstance(rule, dict) and "$contains" in rule:
            wanted = rule["$contains"]
            needed[key] = wanted if isinstance(wanted, list) else [wanted]
        else:
            needed[key] = rule["$eq"] if isinstance(rule, dict) else rule
    return needed


async def guard_assistant(storage: Storage, action: str, value: dict[str, Any]) -> None:
    """Ask the assistants handler about `value["assistant_id"]` (an id, resolved by the use
    case); an assistant its filter does not match is answered as missing."""
    filter = await check("assistants", action, value)
    if filter:
        assistant = await storage.get_assistant(str(value["assistant_id"]))
        if not matches(assistant.metadata, filter):
            raise hidden("assistant", str(value["assistant_id"]))


async def guard_cron(storage: Storage, action: str, value: dict[str, Any]) -> None:
    """Ask the crons handler about `value["cron_id"]`; one its filter does not match is
    answered as missing."""
    filter = await check("crons", action, value)
    if filter:
        cron = await storage.get_cron(str(value["cron_id"]))
        if not matches(cron.metadata, filter):
            raise hidden("cron", str(value["cron_id"]))


async def store_namespace(
    action: str, namespace: Sequence[str] | None, **value: Any
) -> tuple[str, ...]:
    """Ask the store handler about a store action on `namespace` (`value`: the action's other
    fields); return the namespace it leaves (rewritten, e.g. prefixed with the user's id). A
    filter it returns is not applied, as LangGraph's server applies none to the store: items
    are scoped by their namespace."""
    asked = {"namespace": None if namespace is None else tuple(namespace), **value}
    await check("store", action, asked)
    return tuple(str(label) for label in asked.get("namespace") or ())
