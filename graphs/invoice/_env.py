"""The business systems the invoice workflow talks to: Tryton, and SMTP to tell the sender.

They come per run from the runtime's deps (`agent_ops.deps`): the connectors config's `tryton`
section and `mail.smtp` (`tools.config.Connectors`), or a `Connections` given as the connectors
by tests and embedders that want another channel for mail.

A run whose config says `configurable.dry_run: true` (shadow mode, `agent-ops eval shadow`)
reads the ERP but cannot write to it, and sends no mail: the connectors refuse, not the graph.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent_ops.deps import deps_for
from agent_ops.errors import ConfigError, Forbidden
from tools.config import Connectors
from tools.mail import SmtpSettings
from tools.tryton import TrytonClient, TrytonERP, TrytonSettings

# (to, subject, body, idempotency key) -> what was sent, for the run's state
Notifier = Callable[[str, str, str, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Connections:
    """The invoice workflow's systems; give one as `Deps(connectors=...)` to choose them."""

    tryton: TrytonSettings
    smtp: SmtpSettings | None = None
    notify: Notifier | None = None  # instead of SMTP (tests, other channels)
    dry_run: bool = False  # read, never write: no ERP write, no mail (shadow runs)


class _ReadOnlyClient(TrytonClient):
    """A Tryton client whose every write (create, write, delete, a button) is refused."""

    async def _send(self, method: str, path: str, *, effect: Any, **kwargs: Any) -> Any:
        if effect == "write":
            raise Forbidden(f"dry run: {method} {path} would write to the ERP; nothing was sent")
        return await super()._send(method, path, effect=effect, **kwargs)


def dry_run(config: RunnableConfig | None = None) -> bool:
    """Whether the run (None: the running node's) is a dry run."""
    if config is None:
        from langgraph.config import get_config

        config = get_config()
    return bool((config.get("configurable") or {}).get("dry_run"))


def connections(config: RunnableConfig | None = None) -> Connections:
    """The run's connections (None: the running node's run), from its deps."""
    given = deps_for(config).need("connectors")
    if isinstance(given, Connections):
        return replace(given, dry_run=True) if dry_run(config) else given
    if not isinstance(given, Connectors):
        raise ConfigError(
            f"the invoice workflow takes tools.config.Connectors or graphs.invoice.Connections"
            f" as its connectors, not {type(given).__name__}"
        )
    if given.config.tryton is None:
        raise ConfigError(
            "the invoice workflow needs an ERP: the connectors config "
            "(AGENT_OPS_CONNECTORS_CONFIG) has no `tryton` section"
        )
    mail = given.config.mail
    return Connections(
        tryton=given.config.tryton, smtp=mail.smtp if mail else None, dry_run=dry_run(config)
    )


@asynccontextmanager
async def erp(config: RunnableConfig | None = None) -> AsyncIterator[TrytonERP]:
    """A Tryton client for one step; closed when the step ends."""
    reach = connections(config)
    async with (_ReadOnlyClient if reach.dry_run else TrytonClient)(reach.tryton) as client:
        yield TrytonERP(client)
