"""The business systems the invoice workflow talks to: Tryton, and SMTP to tell the sender.

By default they come from the connectors config (`AGENT_OPS_CONNECTORS_CONFIG`: its `tryton`
section and `mail.smtp`). Tests and embedders may `use(...)` their own instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agent_ops.errors import ConfigError
from tools.config import connectors_config
from tools.mail import SmtpSettings
from tools.tryton import TrytonClient, TrytonERP, TrytonSettings

# (to, subject, body, idempotency key) -> what was sent, for the run's state
Notifier = Callable[[str, str, str, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Connections:
    tryton: TrytonSettings
    smtp: SmtpSettings | None = None
    notify: Notifier | None = None  # instead of SMTP (tests, other channels)


_chosen: Connections | None = None


def use(connections: Connections | None) -> None:
    """Use these connections in this process (None: back to the connectors config)."""
    global _chosen
    _chosen = connections


def connections() -> Connections:
    """The chosen connections, else the connectors config's."""
    if _chosen is not None:
        return _chosen
    config = connectors_config()
    if config.tryton is None:
        raise ConfigError(
            "the invoice workflow needs an ERP: the connectors config "
            "(AGENT_OPS_CONNECTORS_CONFIG) has no `tryton` section"
        )
    return Connections(tryton=config.tryton, smtp=config.mail.smtp if config.mail else None)


@asynccontextmanager
async def erp() -> AsyncIterator[TrytonERP]:
    """A Tryton client for one step; closed when the step ends."""
    async with TrytonClient(connections().tryton) as client:
        yield TrytonERP(client)
