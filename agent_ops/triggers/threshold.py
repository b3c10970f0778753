"""SQL thresholds: a condition over a named query's result, fired on its edge with hysteresis.

A condition is `value OP NUMBER` (value: the first column of the first row), `rows OP NUMBER`
(the number of rows), or `changed` (the value differs from the last poll's). A threshold fires
when its condition becomes true while armed, then disarms; it re-arms only once the measure has
gone back past the threshold by the hysteresis (for `value > 100` with hysteresis 10: below or
at 90), so a value hovering at the line fires once, not on every poll.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent_ops.errors import InvalidInput
from agent_ops.types import Json

__all__ = ["Condition", "Evaluation", "evaluate", "parse_condition"]

_FORM = re.compile(r"^\s*(value|rows)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Condition:
    measure: str  # value | rows | changed
    op: str | None = None
    limit: float = 0.0

    def holds(self, measured: float, hysteresis: float = 0.0) -> bool:
        """Whether the condition holds, with the limit moved back by `hysteresis` (used to
        decide re-arming: a `>` condition still 'holds' until the value is limit - h or less)."""
        assert self.op is not None
        limit = self.limit
        if self.op in (">", ">="):
            limit -= hysteresis
        elif self.op in ("<", "<="):
            limit += hysteresis
        return _OPS[self.op](measured, limit)


def parse_condition(text: str) -> Condition:
    """Parse a condition; InvalidInput naming `condition` and the text if it is malformed."""
    if text.strip() == "changed":
        return Condition("changed")
    match = _FORM.match(text)
    if match is None:
        raise InvalidInput(
            f"condition {text!r} is not one of 'value > N', 'rows > N' (operators >, >=, <, "
            "<=, ==, !=) or 'changed'"
        )
    return Condition(match.group(1), match.group(2), float(match.group(3)))


@dataclass(frozen=True, slots=True)
class Evaluation:
    fire: bool
    state: Json
    value: Any
    rows: int


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"the query's first column is not a number: {value!r}")
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"the query's first column is not a number: {value!r}") from None


def evaluate(
    condition: Condition, rows: Sequence[dict[str, Any]], state: Json, hysteresis: float
) -> Evaluation:
    """Evaluate one poll against the last state (`armed`, `value`); return whether it fires
    and the new state."""
    value = next(iter(rows[0].values()), None) if rows else None
    armed = bool(state.get("armed", True))
    if condition.measure == "changed":
        seen = "value" in state
        fire = seen and state.get("value") != value
        return Evaluation(fire, {"armed": True, "value": value}, value, len(rows))
    measured = float(len(rows)) if condition.measure == "rows" else _number(value)
    if armed and condition.holds(measured):
        return Evaluation(True, {"armed": False, "value": value}, value, len(rows))
    if not armed and not condition.holds(measured, hysteresis):
        armed = True
    return Evaluation(False, {"armed": armed, "value": value}, value, len(rows))
