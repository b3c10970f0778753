"""Compare two experiments: every metric side by side with its delta, and the cases whose
scores changed, improved or regressed; gates (`--fail-under`, `--max-regression`) for CI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from agent_ops.errors import InvalidInput
from evals.harness.results import CaseResult, Experiment

__all__ = ["Comparison", "compare", "lower_is_better", "parse_gates"]

# Metric (or per-case score) names for which less is better; every other one: more is better.
_LOWER = (
    "error",
    "interrupted",
    "error_rate",
    "interrupted_rate",
    "false_accept",
    "review",
    "wrong",
    "wrong_rate",
)


def lower_is_better(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last in _LOWER or name.startswith(("latency_ms", "tokens", "cost_usd", "model_calls"))


@dataclass
class Comparison:
    a: str
    b: str
    metrics: dict[str, dict[str, float | None]]
    """metric -> {a, b, delta} (delta = b - a; None where one side lacks it)."""
    improved: list[dict[str, Any]] = field(default_factory=list)
    regressed: list[dict[str, Any]] = field(default_factory=list)
    changed_output: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    only_a: int = 0
    only_b: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _case_changes(a: CaseResult, b: CaseResult) -> tuple[list[str], list[str]]:
    better: list[str] = []
    worse: list[str] = []
    for key in sorted(set(a.scores) & set(b.scores)):
        x, y = a.scores[key], b.scores[key]
        if x is None or y is None or x == y:
            continue
        up = y > x
        (better if up != lower_is_better(key) else worse).append(f"{key} {x:g} -> {y:g}")
    return better, worse


def parse_gates(values: list[str] | None, flag: str) -> dict[str, float]:
    """`metric=value` pairs; a malformed one is InvalidInput naming it."""
    gates = {}
    for value in values or []:
        name, sep, number = value.partition("=")
        try:
            gates[name] = float(number)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise InvalidInput(f"{flag} {value!r} is not metric=number")
    return gates


def compare(
    a: Experiment,
    b: Experiment,
    *,
    fail_under: Mapping[str, float] | None = None,
    max_regression: Mapping[str, float] | None = None,
) -> Comparison:
    """Compare B against A (the baseline); `failures` lists the gates B does not pass."""
    ma, mb = a.metrics, b.metrics
    metrics: dict[str, dict[str, float | None]] = {}
    for name in list(ma) + [n for n in mb if n not in ma]:
        x, y = ma.get(name), mb.get(name)
        delta = None if x is None or y is None else round(y - x, 6)
        metrics[name] = {"a": x, "b": y, "delta": delta}
    result = Comparison(a.name, b.name, metrics)
    cases_a = {c.key: c for c in a.cases}
    keys_b = {c.key for c in b.cases}
    result.only_a = len(set(cases_a) - keys_b)
    result.only_b = len(keys_b - set(cases_a))
    for case in b.cases:
        before = cases_a.get(case.key)
        if before is None:
            continue
        better, worse = _case_changes(before, case)
        if better:
            result.improved.append({"case": case.key, "changes": better})
        if worse:
            result.regressed.append({"case": case.key, "changes": worse})
        if before.output != case.output:
            result.changed_output.append(case.key)
    for name, bound in (fail_under or {}).items():
        if name not in mb:
            raise InvalidInput(f"--fail-under {name}: no such metric; metrics: {', '.join(mb)}")
        value = mb[name]
        bad = value > bound if lower_is_better(name) else value < bound
        if bad:
            word = "above" if lower_is_better(name) else "under"
            result.failures.append(f"{name} = {value:g} is {word} {bound:g}")
    for name, allowed in (max_regression or {}).items():
        entry = metrics.get(name)
        if entry is None or entry["delta"] is None:
            raise InvalidInput(f"--max-regression {name}: not a metric of both experiments")
        delta = entry["delta"]
        loss = delta if lower_is_better(name) else -delta
        if loss > allowed + 1e-12:
            result.failures.append(
                f"{name} regressed by {loss:g} ({entry['a']:g} -> {entry['b']:g}), more than {allowed:g}"
            )
    return result
