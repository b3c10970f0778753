"""Versioned schema migrations: `<backend>/NNNN_name.sql` files applied in order, each once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from agent_ops.errors import StorageError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(backend: Literal["sqlite", "postgres"]) -> list[Migration]:
    """Return the backend's migrations sorted by version; a misnamed or duplicate file is an error."""
    found: dict[int, Migration] = {}
    for entry in resources.files(__package__).joinpath(backend).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise StorageError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise StorageError(f"two {backend} migrations have version {version}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]
