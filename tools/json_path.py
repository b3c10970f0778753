"""Walking parsed JSON (dicts and lists) one key or list index at a time: OpenAPI's local
`$ref` pointers and the eval suites' `a.b.0.c` field paths both read documents this way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["walk"]


def walk(node: Any, steps: Iterable[str]) -> Any:
    """The value `steps` lead to from `node` (a digit step indexes a list); a step that leads
    nowhere raises LookupError naming it."""
    for step in steps:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            raise LookupError(step)
    return node
