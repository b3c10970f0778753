"""SQL building blocks above both dialects: the backend's modules, and WHERE clauses from
optional filters (each dialect's `Where` spells the clauses its own way)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from agent_ops.storage import _policy
from agent_ops.types import Json

# A backend package holds one module per concept, under the same names in both dialects.
CONCEPTS = (
    "rows",
    "assistants",
    "threads",
    "runs",
    "events",
    "items",
    "crons",
    "workers",
    "decisions",
    "intake",
    "keys",
    "triggers",
    "audit",
    "outbox",
    "evals",
    "sealed",
)


@dataclass(frozen=True, slots=True)
class Modules:
    """A backend's SQL, one module per concept (`sqlite/runs.py` or `postgres/runs.py`)."""

    rows: ModuleType
    assistants: ModuleType
    threads: ModuleType
    runs: ModuleType
    events: ModuleType
    items: ModuleType
    crons: ModuleType
    workers: ModuleType
    decisions: ModuleType
    intake: ModuleType
    keys: ModuleType
    triggers: ModuleType
    audit: ModuleType
    outbox: ModuleType
    evals: ModuleType
    sealed: ModuleType


def modules(package: str) -> Modules:
    """Import a backend package's concept modules."""
    return Modules(**{name: importlib.import_module(f"{package}.{name}") for name in CONCEPTS})


class Where:
    """A WHERE clause built from optional filters, with its parameters; a filter given as None
    adds nothing. A dialect names its placeholder, its case-insensitive match and `contains`."""

    placeholder: ClassVar[str]
    like: ClassVar[str]
    """The operator and placeholder of a case-insensitive LIKE with `\\` as escape."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def equals(self, column: str, value: Any) -> Where:
        if value is not None:
            self.add(f"{column} = {self.placeholder}", value)
        return self

    def one_of(self, column: str, values: Sequence[str] | None) -> Where:
        """Require `column` to be one of `values` (none matches an empty list)."""
        if values is not None:
            marks = ", ".join(self.placeholder for _ in values) or "NULL"
            self.add(f"{column} IN ({marks})", *values)
        return self

    def substring(self, column: str, text: str | None) -> Where:
        """Require `column` to hold `text`, ignoring case."""
        if text is not None:
            self.add(f"{column} {self.like}", _policy.substring_pattern(text))
        return self

    def contains(self, column: str, wanted: Json | None) -> Where:
        """Require the JSON `column` to hold every top-level key/value of `wanted`."""
        raise NotImplementedError

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""
