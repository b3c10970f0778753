"""The in-process invoice graph, pointed at the session's Tryton with mail recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from graphs.invoice import Connections, build, use
from tests.invoice.samples import Outbox
from tests.tryton_fixtures import RunningTryton


@pytest.fixture
def outbox(tryton: RunningTryton) -> Iterator[Outbox]:
    box = Outbox()
    use(Connections(tryton=tryton.settings(), notify=box))
    yield box
    use(None)


@pytest.fixture
def graph() -> Pregel:
    return build().compile(checkpointer=InMemorySaver())
