"""What a stored JSON value may hold, checked once before anything is written.

Both backends must store a value and read it back: SQLite's JSON functions and orjson (which
renders every answer and stream event) stop at 64-bit integers, JSON has no NaN or Infinity,
PostgreSQL's jsonb refuses NUL characters, lone surrogates are not UTF-8, and a value nested
thousands deep overflows a recursive reader. A value outside these bounds is an
`InvalidInput` naming where it sits, so one bad write can never make every later read of a list
fail. Imports nothing of agent-ops but its errors.

`Limits` bounds the size of the fields a client may store (metadata, a run's input, a store
value, a state update), each below the body limit, so one client cannot keep a 9 MB metadata
blob that every later list and search reads back. The runtime's concept objects check them, so
the HTTP API, the CLI and triggers meet the same limit once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from agent_ops.errors import InvalidInput, TooLarge

MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1
MAX_DEPTH: Final = 64
"""How deep objects and arrays may nest in a stored value (langgraph's own limits are far
above what a business document needs; a deeper value is almost always an attack or a bug)."""


def check_storable(value: Any, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Return `value` unchanged if both backends can store and read it back, else raise
    `InvalidInput` naming the first offending place (`where` is the field's name)."""
    # An explicit stack, not recursion: the value being checked may be too deep to recurse.
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, str):
            _check_text(item, path)
            continue
        if isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                raise InvalidInput(
                    f"{path}: integer {_short(item)} is outside the storable range "
                    f"[-2^63, 2^63-1]; send it as a string"
                )
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{path}: {item!r} is not a JSON number; send null or a string")
            continue
        if depth >= max_depth:
            raise InvalidInput(f"{path}: nested deeper than {max_depth} levels")
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInput(f"{path}: key {key!r} is not a string")
                _check_text(key, f"{path} key")
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return value


class StorableBody(BaseModel):
    """A request body that refuses unknown fields and, before any field is read, any value
    `check_storable` refuses: a 422 naming its place, and nothing is written."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        try:
            return check_storable(data, "body")
        except InvalidInput as exc:
            raise PydanticCustomError("storable", str(exc)) from None


@dataclass(frozen=True)
class Limits:
    """The largest each stored field may be, in bytes of its compact JSON (the settings'
    `max_*_bytes`; the defaults are theirs)."""

    input_bytes: int = 4 * 1024 * 1024
    metadata_bytes: int = 64 * 1024
    store_value_bytes: int = 1024 * 1024

    def input(self, value: Any, where: str) -> None:
        """Refuse a run's input, command or context, or a state update's values, over the limit."""
        check_size(value, where, self.input_bytes, "AGENT_OPS_MAX_INPUT_BYTES")

    def metadata(self, value: Any, where: str = "metadata") -> None:
        """Refuse metadata (of a thread, assistant, run or cron) over the limit."""
        check_size(value, where, self.metadata_bytes, "AGENT_OPS_MAX_METADATA_BYTES")

    def merged_metadata(self, current: Mapping[str, Any], patch: Any) -> None:
        """Refuse a metadata patch, or the metadata it merges into, over the limit (a PATCH
        merges, so metadata could otherwise grow past the limit a patch at a time)."""
        self.metadata(patch)
        if patch:
            self.metadata({**current, **patch}, "metadata (merged)")

    def store_value(self, value: Any, where: str = "value") -> None:
        """Refuse a store item's value over the limit."""
        check_size(value, where, self.store_value_bytes, "AGENT_OPS_MAX_STORE_VALUE_BYTES")


DEFAULT_LIMITS: Final = Limits()
"""The settings' default limits, for a concept object built without a runtime (tests, tools)."""


def json_size(value: Any) -> int:
    """How many bytes `value` takes as compact JSON (what both backends store)."""
    return len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def check_size(value: Any, where: str, limit: int, setting: str) -> None:
    """Raise `TooLarge` (413) naming `where`, its size, the limit and the setting that sets it
    when `value` as JSON is larger than `limit` bytes; None and absent fields pass."""
    if value is None:
        return
    size = json_size(value)
    if size > limit:
        raise TooLarge(
            f"{where} is {size:,} bytes as JSON, over the limit of {limit:,} bytes ({setting})"
        )


def _check_text(text: str, path: str) -> None:
    # PostgreSQL's jsonb refuses U+0000, and a lone surrogate (legal in a JSON \u escape) is not
    # UTF-8, so neither backend's reader nor orjson could give it back.
    if "\x00" in text:
        raise InvalidInput(f"{path}: text holds a NUL character (\\u0000), which cannot be stored")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{path}: text holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
            ) from None


def _short(number: int) -> str:
    text = str(number)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} digits)"
