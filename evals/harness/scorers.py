"""Scorers: each gives every case its scores (1.0 right, 0.0 wrong, None not applicable) and
the experiment its metrics. Built from a suite's `scorers:` entries by `kind`:

- `fields`: field-level match of an output object against the expected one; `match: exact`
  (JSON-equal) or `normalized` (whitespace and case folded, numbers compared as numbers);
  `tolerance: {field: absolute}` for numeric fields.
- `classification`: a label against the expected label; accuracy, macro precision, recall and
  F1, per-label numbers and the confusion matrix.
- `trajectory`: the tool calls the models made against the expected ones; `mode: strict`
  (same calls, same order), `unordered`, `subset` (every call made was expected) or
  `superset` (every expected call was made); `args: false` compares names only.
- `outcome`: the rate of runs that ended in error and that stopped at an interrupt.
- `wrong_action`: the rate of runs that took an action the expected outcome says they should
  not have (an invoice paid that should have waited): the run took it when its outcome
  (`output`) is one of `action`, and it was right to when the expected outcome (`expected`) is
  one of them too. A run that failed took no action; a case with no expected outcome is not
  counted.
- `module:function`: a custom scorer, a plain function `(output, expected, case) -> float |
  bool | dict[str, float] | None`; its metrics are the means over the cases.
"""

from __future__ import annotations

import importlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from agent_ops.errors import InvalidInput
from evals.harness.results import CaseResult
from evals.harness.suite import ScorerSpec, lookup

__all__ = ["KINDS", "Scorer", "build_scorer", "mean", "means", "normalize"]


class Scorer(Protocol):
    name: str

    def score(self, case: CaseResult) -> dict[str, float | None]:
        """Return this case's scores, keyed `<name>.<metric>`."""
        ...

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        """Return the experiment's metrics (flat numbers) and details (tables) of this scorer."""
        ...


def mean(values: Sequence[float | None]) -> float | None:
    """The mean of the values that apply (None: not applicable); None when none applies."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def means(cases: Sequence[CaseResult], keys: Iterable[str]) -> dict[str, float]:
    """Return each key's mean score over the cases; a key that applies to no case is left out."""
    found = {}
    for key in keys:
        value = mean([c.scores.get(key) for c in cases])
        if value is not None:
            found[key] = value
    return found


def _get(value: Any, path: str) -> Any:
    """`lookup`, with a missing step read as None (an output may lack a field)."""
    try:
        return lookup(value, path)
    except InvalidInput:
        return None


def normalize(value: Any) -> Any:
    """Strings with whitespace squashed and case folded, numbers (and numeric strings) as
    Decimals without trailing zeros, applied through lists and objects."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value)).normalize()
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            return re.sub(r"\s+", " ", value).strip().casefold()
        return number.normalize() if number.is_finite() else value
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _options(spec: ScorerSpec, allowed: set[str]) -> dict[str, Any]:
    extra = dict(spec.model_extra or {})
    unknown = sorted(set(extra) - allowed)
    if unknown:
        raise InvalidInput(
            f"scorer {spec.kind!r} has no option {unknown[0]!r}; options: {', '.join(sorted(allowed))}"
        )
    return extra


class FieldMatch:
    def __init__(self, spec: ScorerSpec) -> None:
        options = _options(spec, {"output", "expected", "fields", "match", "tolerance"})
        self.name = spec.name or "fields"
        self.output = str(options.get("output", ""))
        self.expected = str(options.get("expected", ""))
        self.fields = [str(f) for f in options.get("fields") or []]
        self.match = options.get("match", "normalized")
        if self.match not in ("exact", "normalized"):
            raise InvalidInput(
                f"scorer fields: match must be exact or normalized, not {self.match!r}"
            )
        self.tolerance = {str(k): float(v) for k, v in (options.get("tolerance") or {}).items()}
        if not self.fields:
            raise InvalidInput("scorer fields needs `fields`: the fields to compare")

    def _same(self, name: str, got: Any, want: Any) -> bool:
        if name in self.tolerance:
            a, b = _number(got), _number(want)
            if a is None or b is None:
                return got is None and want is None
            return abs(a - b) <= self.tolerance[name] + 1e-12
        if self.match == "exact":
            return bool(got == want)
        return bool(normalize(got) == normalize(want))

    def score(self, case: CaseResult) -> dict[str, float | None]:
        want = _get(case.expected, self.expected)
        if want is None:  # nothing to compare with (e.g. a document that is no invoice)
            missing: dict[str, float | None] = dict.fromkeys(
                [*(f"{self.name}.{f}" for f in self.fields), f"{self.name}.all"]
            )
            return missing
        got = _get(case.output, self.output) if case.status == "success" else None
        scores: dict[str, float | None] = {}
        for name in self.fields:
            scores[f"{self.name}.{name}"] = float(
                got is not None and self._same(name, _get(got, name), _get(want, name))
            )
        scores[f"{self.name}.all"] = float(all(scores.values()))
        return scores

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        keys = [f"{self.name}.{f}" for f in self.fields] + [f"{self.name}.all"]
        return means(cases, keys), {}


class Classification:
    def __init__(self, spec: ScorerSpec) -> None:
        options = _options(spec, {"output", "expected"})
        self.name = spec.name or "classification"
        self.output = str(options.get("output", "label"))
        self.expected = str(options.get("expected", "label"))

    def _pair(self, case: CaseResult) -> tuple[str, str] | None:
        want = _get(case.expected, self.expected)
        if want is None:
            return None
        got = _get(case.output, self.output) if case.status == "success" else None
        return str(got) if got is not None else f"<{case.status}>", str(want)

    def score(self, case: CaseResult) -> dict[str, float | None]:
        pair = self._pair(case)
        return {f"{self.name}.accuracy": None if pair is None else float(pair[0] == pair[1])}

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        pairs = [p for c in cases if (p := self._pair(c)) is not None]
        if not pairs:
            return {}, {}
        labels = sorted({want for _, want in pairs} | {got for got, _ in pairs})
        counts = Counter(pairs)
        per_label = {}
        for label in sorted({want for _, want in pairs}):
            tp = counts[(label, label)]
            predicted = sum(n for (got, _), n in counts.items() if got == label)
            actual = sum(n for (_, want), n in counts.items() if want == label)
            precision = tp / predicted if predicted else 0.0
            recall = tp / actual if actual else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            per_label[label] = {
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": actual,
            }
        n = len(per_label)
        metrics = {
            f"{self.name}.accuracy": sum(got == want for got, want in pairs) / len(pairs),
            f"{self.name}.macro_precision": sum(v["precision"] for v in per_label.values()) / n,
            f"{self.name}.macro_recall": sum(v["recall"] for v in per_label.values()) / n,
            f"{self.name}.macro_f1": sum(v["f1"] for v in per_label.values()) / n,
        }
        matrix = [[counts[(got, want)] for got in labels] for want in labels]
        details = {"labels": labels, "confusion": matrix, "per_label": per_label}
        return metrics, {f"{self.name}": details}


def _call(call: dict[str, Any], with_args: bool) -> tuple[str, str]:
    args = repr(sorted((call.get("args") or {}).items())) if with_args else ""
    return str(call.get("name")), args


class Trajectory:
    MODES = ("strict", "unordered", "subset", "superset")

    def __init__(self, spec: ScorerSpec) -> None:
        options = _options(spec, {"expected", "mode", "args"})
        self.name = spec.name or "trajectory"
        self.expected = str(options.get("expected", "tool_calls"))
        self.mode = options.get("mode", "strict")
        if self.mode not in self.MODES:
            raise InvalidInput(
                f"scorer trajectory: mode must be one of {', '.join(self.MODES)}, not {self.mode!r}"
            )
        self.args = bool(options.get("args", True))

    def matches(self, made: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]]) -> bool:
        got = [_call(c, self.args) for c in made]
        want = [_call(c, self.args) for c in expected]
        if self.mode == "strict":
            return got == want
        if self.mode == "unordered":
            return Counter(got) == Counter(want)
        if self.mode == "subset":  # nothing was called that was not expected
            return not Counter(got) - Counter(want)
        return not Counter(want) - Counter(got)  # superset: everything expected was called

    def score(self, case: CaseResult) -> dict[str, float | None]:
        want = _get(case.expected, self.expected)
        if want is None:
            return {f"{self.name}.match": None}
        return {f"{self.name}.match": float(self.matches(case.tool_calls, want))}

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        value = mean([c.scores.get(f"{self.name}.match") for c in cases])
        return ({} if value is None else {f"{self.name}.match": value}), {}


class Outcome:
    def __init__(self, spec: ScorerSpec) -> None:
        _options(spec, set())
        self.name = spec.name or "outcome"

    def score(self, case: CaseResult) -> dict[str, float | None]:
        return {
            f"{self.name}.error": float(case.status in ("error", "timeout")),
            f"{self.name}.interrupted": float(case.status == "interrupted"),
        }

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        metrics = {}
        for what in ("error", "interrupted"):
            value = mean([c.scores.get(f"{self.name}.{what}") for c in cases])
            metrics[f"{self.name}.{what}_rate"] = value or 0.0
        return metrics, {}


class WrongAction:
    def __init__(self, spec: ScorerSpec) -> None:
        options = _options(spec, {"output", "expected", "action"})
        self.name = spec.name or "wrong_action"
        self.output = str(options.get("output", "status"))
        self.expected = str(options.get("expected", "status"))
        action = options.get("action")
        if action is None:
            raise InvalidInput(
                "scorer wrong_action needs `action`: the outcome value(s) that take the action"
            )
        self.action = [normalize(v) for v in (action if isinstance(action, list) else [action])]

    def score(self, case: CaseResult) -> dict[str, float | None]:
        want = _get(case.expected, self.expected)
        if want is None:
            return {f"{self.name}.wrong": None}
        took = case.status == "success" and normalize(_get(case.output, self.output)) in self.action
        return {f"{self.name}.wrong": float(took and normalize(want) not in self.action)}

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        wrong = [c for c in cases if c.scores.get(f"{self.name}.wrong")]
        value = mean([c.scores.get(f"{self.name}.wrong") for c in cases])
        return {f"{self.name}.wrong_rate": value or 0.0}, {
            self.name: {"wrong_cases": [c.key for c in wrong]}
        }


Custom = Callable[[Any, dict[str, Any], CaseResult], float | bool | dict[str, float] | None]


class CustomScorer:
    def __init__(self, spec: ScorerSpec) -> None:
        module_name, _, function = spec.kind.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidInput(
                f"scorer {spec.kind!r}: cannot import {module_name!r}: {exc}"
            ) from None
        found = getattr(module, function, None)
        if not callable(found):
            raise InvalidInput(f"scorer {spec.kind!r}: {module_name} has no function {function!r}")
        self.function: Custom = found
        self.name = spec.name or function

    def score(self, case: CaseResult) -> dict[str, float | None]:
        value = self.function(case.output, case.expected, case)
        if value is None:
            return {self.name: None}
        if isinstance(value, dict):
            return {f"{self.name}.{k}": None if v is None else float(v) for k, v in value.items()}
        return {self.name: float(value)}

    def summarize(self, cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
        keys = sorted(
            {k for c in cases for k in c.scores if k == self.name or k.startswith(f"{self.name}.")}
        )
        return means(cases, keys), {}


KINDS: dict[str, Callable[[ScorerSpec], Scorer]] = {
    "fields": FieldMatch,
    "classification": Classification,
    "trajectory": Trajectory,
    "outcome": Outcome,
    "wrong_action": WrongAction,
}


def build_scorer(spec: ScorerSpec) -> Scorer:
    """The scorer a suite entry names; an unknown kind is InvalidInput listing the known ones."""
    if spec.kind in KINDS:
        return KINDS[spec.kind](spec)
    if ":" in spec.kind:
        return CustomScorer(spec)
    raise InvalidInput(
        f"unknown scorer {spec.kind!r}; scorers: {', '.join(KINDS)} or module:function"
    )
