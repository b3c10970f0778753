"""Tryton fixtures (registered in tests/conftest.py): a seeded demo Tryton built once per session, served per module.

Building installs Tryton's modules into SQLite (about a minute), so it happens once; each test
module gets its own copy of the file and its own trytond process, and may change it freely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.tryton import TrytonClient, TrytonERP, TrytonSettings
from tools.tryton_demo import DemoFacts, DemoServer, build_demo, copy_demo


@dataclass(frozen=True)
class RunningTryton:
    url: str
    facts: DemoFacts

    def settings(self, **overrides: object) -> TrytonSettings:
        values: dict[str, object] = {
            "url": self.url,
            "database": self.facts.database,
            "api_key": self.facts.rest_key,
            "company": self.facts.company,
            "backoff": 0.01,
        }
        values.update(overrides)
        return TrytonSettings.model_validate(values)


@pytest.fixture(scope="session")
def tryton_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded demo database, built once per session; copy it before changing it."""
    directory = tmp_path_factory.mktemp("tryton-seed")
    build_demo(directory)
    return directory


@pytest.fixture(scope="module")
def tryton(
    tryton_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTryton]:
    """A trytond process serving this module's own copy of the demo database."""
    directory = tmp_path_factory.mktemp("tryton")
    facts = copy_demo(tryton_demo_dir, directory)
    with DemoServer(directory) as server:
        yield RunningTryton(server.url, facts)


@pytest.fixture
async def erp(tryton: RunningTryton) -> AsyncIterator[TrytonERP]:
    async with TrytonClient(tryton.settings()) as client:
        yield TrytonERP(client)
