"""The in-process invoice graph, pointed at the session's Tryton with mail recorded.

The graph gets its systems as a runtime would hand them over: in its run config (`Deps`).
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from agent_ops.deps import Deps
from graphs.invoice import Connections, build
from tests.invoice.samples import PUBLIC_URL, Outbox
from tests.tryton_fixtures import RunningTryton


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def deps(tryton: RunningTryton, outbox: Outbox) -> Deps:
    """The session's Tryton, and mail recorded in the outbox instead of sent."""
    return Deps(
        connectors=Connections(tryton=tryton.settings(), notify=outbox), public_url=PUBLIC_URL
    )


@pytest.fixture
def graph(deps: Deps) -> Pregel:
    return build().compile(checkpointer=InMemorySaver()).with_config(deps.bind())
