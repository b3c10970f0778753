"""JSON for what graphs produce: LangChain messages, interrupts, dataclasses, pydantic models."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from langgraph.types import Command, Interrupt, Send
from pydantic import BaseModel

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="python")
    if isinstance(obj, Interrupt):
        # All three fields, as the LangGraph server streams the dataclass.
        return {"value": obj.value, "id": obj.id, "response_schema": obj.response_schema}
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": obj.arg}
    if isinstance(obj, Command):
        return {
            k: v
            for k, v in (
                ("graph", obj.graph),
                ("update", obj.update),
                ("resume", obj.resume),
                ("goto", obj.goto),
            )
            if v is not None and v != ()
        }
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, BaseException):
        return {"error": type(obj).__name__, "message": str(obj)}
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "to_json") and callable(obj.to_json):
        return obj.to_json()
    return str(obj)


def dumps(obj: Any) -> bytes:
    """Encode `obj` as compact JSON bytes the way the LangGraph server does."""
    return orjson.dumps(obj, default=_default, option=_OPTIONS)


def to_jsonable(obj: Any) -> Any:
    """Return `obj` as plain JSON types (dicts, lists, strings, numbers, None)."""
    return orjson.loads(dumps(obj))
