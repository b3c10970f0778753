"""Each listing body becomes the runtime's filter, page or query by an explicit constructor
call: a field both sides name must be carried, and a field of the runtime's value the body does
not carry must be one the runtime (or the API) leaves unset on purpose."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from pydantic import BaseModel

from server.schemas import (
    AssistantCount,
    AssistantSearch,
    CronCount,
    CronSearch,
    StoreNamespaces,
    ThreadCount,
    ThreadSearch,
)

# A value of each type the bodies' fields take, unlike any default.
_SAMPLES: dict[str, Any] = {
    "metadata": {"team": "ap"},
    "values": {"step": 2},
    "status": "busy",
    "graph_id": "echo",
    "name": "ap-bot",
    "ids": ["3f2c0d8e-0000-4000-8000-000000000001"],
    "assistant_id": "echo",
    "thread_id": "3f2c0d8e-0000-4000-8000-000000000002",
    "enabled": False,
    "limit": 7,
    "offset": 3,
    "sort_order": "asc",
    "prefix": ["a"],
    "suffix": ["z"],
    "max_depth": 2,
}
_SORT_BY = {AssistantSearch: "name", ThreadSearch: "status", CronSearch: "next_run_date"}

# Fields of the runtime's value that a body leaves unset on purpose: the runtime sets the
# tenant; LangGraph's count bodies have no `ids` (threads) or `enabled` (crons).
_UNSET_ON_PURPOSE = {
    AssistantCount: {"tenant_id"},
    AssistantSearch: {"tenant_id"},
    ThreadCount: {"tenant_id", "ids"},
    ThreadSearch: {"tenant_id"},
    CronCount: {"tenant_id", "enabled"},
    CronSearch: {"tenant_id"},
    StoreNamespaces: {"tenant_id"},
}


def _sample(kind: type[BaseModel]) -> Any:
    values = {name: _SAMPLES[name] for name in kind.model_fields if name in _SAMPLES}
    if kind in _SORT_BY:
        values["sort_by"] = _SORT_BY[kind]
    return kind.model_validate(values)


def _conversions(body: Any) -> list[Any]:
    if isinstance(body, StoreNamespaces):
        return [body.to_query()]
    made = [body.to_filter()]
    if hasattr(body, "to_page"):
        made.append(body.to_page())
    return made


@pytest.mark.parametrize("kind", list(_UNSET_ON_PURPOSE), ids=lambda k: k.__name__)
def test_a_body_carries_every_field_its_runtime_value_names(kind: type[BaseModel]) -> None:
    body = _sample(kind)
    made = _conversions(body)
    read = {f.name for value in made for f in fields(value)}
    for value in made:
        for f in fields(value):
            if f.name in kind.model_fields:
                assert getattr(value, f.name) == getattr(body, f.name), f"{kind.__name__}.{f.name}"
            else:
                assert f.name in _UNSET_ON_PURPOSE[kind], f"{kind.__name__} lacks {f.name}"
    # `select` and `extract` shape the view, not the query
    carried = set(kind.model_fields) - {"select", "extract"}
    assert carried <= read, f"{kind.__name__} fields read by nothing: {carried - read}"
