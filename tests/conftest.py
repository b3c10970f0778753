"""Shared fixtures: a session-wide throw-away PostgreSQL cluster and one storage per backend.

Each test gets a fresh database (PostgreSQL) or file (SQLite), so tests never see each other's
rows. Without PostgreSQL binaries the postgres cases skip, unless AGENT_OPS_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from agent_ops.storage import Storage, create_storage
from tests.pgcluster import PgCluster, PgClusterError
from tests.tryton_fixtures import erp, tryton, tryton_demo_dir  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        cluster = PgCluster()
        cluster.start()
    except PgClusterError as exc:
        reason = f"cannot start a throw-away PostgreSQL cluster: {exc}"
        if os.environ.get("AGENT_OPS_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the session cluster."""
    return pg_cluster.create_database(f"test_{uuid.uuid4().hex}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/agent-ops.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh database of each backend."""
    fixture = "pg_url" if request.param == "postgres" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def open_storage(database_url: str) -> AsyncIterator[Callable[[], Storage]]:
    """Build more opened storages on the same database (closed after the test)."""
    opened: list[Storage] = []

    def build() -> Storage:
        storage = create_storage(database_url)
        opened.append(storage)
        return storage

    yield build
    for storage in opened:
        await storage.close()


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    """An opened storage on a fresh database, once per backend (ids `sqlite`, `postgres`)."""
    backend = create_storage(database_url)
    await backend.open()
    yield backend
    await backend.close()
