"""The business systems the invoice workflow talks to: Tryton, and SMTP to tell the sender.

They come per run from the runtime's deps (`agent_ops.deps`): the connectors config's `tryton`
section and `mail.smtp` (`tools.config.Connectors`), or a `Connections` given as the connectors
by tests and embedders that want another channel for mail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent_ops.deps import deps_for
from agent_ops.errors import ConfigError
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


def connections(config: RunnableConfig | None = None) -> Connections:
    """The run's connections (None: the running node's run), from its deps."""
    given = deps_for(config).need("connectors")
    if isinstance(given, Connections):
        return given
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
    return Connections(tryton=given.config.tryton, smtp=mail.smtp if mail else None)


@asynccontextmanager
async def erp(config: RunnableConfig | None = None) -> AsyncIterator[TrytonERP]:
    """A Tryton client for one step; closed when the step ends."""
    async with TrytonClient(connections(config).tryton) as client:
        yield TrytonERP(client)
