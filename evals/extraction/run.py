"""Score `extract_invoice` on the extraction dataset: per-field accuracy, documents fully
correct, review rate and false-accept rate (a wrong invoice not sent to review), ms per
document; overall, by the method that produced the answer, and by document group."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_ops.models import MemoryDecisions, Models, load_models_config
from agent_ops.settings import Settings
from evals.extraction.dataset import FIELDS, Case, all_cases
from tools.documents import DEFAULT_MIN_CONFIDENCE, Invoice, extract_invoice, needs_review

DEFAULT_MODELS_CONFIG = Path(__file__).with_name("smollm2.yaml")


@dataclass(frozen=True)
class Outcome:
    case: Case
    method: str
    review: bool
    correct: dict[str, bool]  # per field; empty when there is no truth to compare with
    ms: float

    @property
    def right(self) -> bool:
        """The invoice was read exactly, and the document itself is sound."""
        return self.case.consistent and bool(self.correct) and all(self.correct.values())

    @property
    def false_accept(self) -> bool:
        return not self.review and not self.right


def _same_text(a: str | None, b: str | None) -> bool:
    squash = lambda s: re.sub(r"\s+", " ", s).strip().casefold()  # noqa: E731
    return (a is None and b is None) or (a is not None and b is not None and squash(a) == squash(b))


def compare(read: Invoice | None, truth: Invoice | None) -> dict[str, bool]:
    if truth is None:
        return {}
    if read is None:
        return dict.fromkeys(FIELDS, False)
    out = {}
    for name in FIELDS:
        got, want = getattr(read, name), getattr(truth, name)
        if name == "lines":
            out[name] = len(got) == len(want) and all(
                _same_text(g.description, w.description)
                and (g.quantity, g.unit_price, g.amount) == (w.quantity, w.unit_price, w.amount)
                for g, w in zip(got, want, strict=True)
            )
        elif isinstance(want, str) or want is None and isinstance(got, str):
            out[name] = _same_text(got, want)
        else:
            out[name] = got == want
    return out


async def evaluate(
    cases: Sequence[Case], models: Models | None, min_confidence: float
) -> list[Outcome]:
    outcomes = []
    for case in cases:
        started = time.perf_counter()
        extraction = await extract_invoice(
            case.document,
            min_confidence=min_confidence,
            models=models,
            use_model=models is not None,
        )
        ms = (time.perf_counter() - started) * 1000
        outcomes.append(
            Outcome(
                case=case,
                method=extraction.method,
                review=needs_review(extraction, min_confidence),
                correct=compare(extraction.invoice, case.truth) if case.consistent else {},
                ms=ms,
            )
        )
    return outcomes


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    scored = [o for o in outcomes if o.correct]
    n = len(outcomes)
    return {
        "documents": n,
        "field_accuracy": {
            name: round(sum(o.correct[name] for o in scored) / len(scored), 3) for name in FIELDS
        }
        if scored
        else {},
        "fully_correct": sum(o.right for o in outcomes),
        "fully_correct_rate": round(sum(o.right for o in outcomes) / n, 3),
        "review_rate": round(sum(o.review for o in outcomes) / n, 3),
        "false_accepts": sum(o.false_accept for o in outcomes),
        "false_accept_rate": round(sum(o.false_accept for o in outcomes) / n, 3),
        "ms_per_document": round(sum(o.ms for o in outcomes) / n, 1),
    }


def report(outcomes: Sequence[Outcome], *, model: str, min_confidence: float) -> dict[str, Any]:
    by_method: dict[str, list[Outcome]] = defaultdict(list)
    by_group: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_method[outcome.method].append(outcome)
        by_group[outcome.case.group].append(outcome)
    return {
        "model": model,
        "min_confidence": min_confidence,
        "overall": summarise(outcomes),
        "by_method": {k: summarise(v) for k, v in sorted(by_method.items())},
        "by_group": {k: summarise(v) for k, v in sorted(by_group.items())},
        "false_accepted": [o.case.name for o in outcomes if o.false_accept],
    }


async def run(*, use_model: bool, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict[str, Any]:
    """Score the whole dataset; with the model, the `extract` role of AGENT_OPS_MODELS_CONFIG,
    else of smollm2.yaml (the embedded SmolLM2)."""
    models = None
    if use_model:
        settings = Settings.load()
        config = load_models_config(settings.models_config or DEFAULT_MODELS_CONFIG)
        models = Models(config, settings, MemoryDecisions())
    try:
        outcomes = await evaluate(all_cases(), models, min_confidence)
    finally:
        if models is not None:
            await models.aclose()
    label = ",".join(models.config.role("extract").providers) if models else "none"
    return report(outcomes, model=label, min_confidence=min_confidence)
