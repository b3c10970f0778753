"""Measure a router on labelled data: labelled CSV files in, accuracy and friends out."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_ops.errors import InvalidInput
from agent_ops.models.router import UNKNOWN, Router

SINGLE_QUERY_SAMPLE = 50  # queries routed one by one to measure unbatched latency


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


@dataclass(frozen=True)
class RouteEvaluation:
    """Scores of a router on a test set; precision/recall are None when undefined (0/0)."""

    queries: int
    routes: int
    unknown_threshold: float
    accuracy: float
    macro_f1: float
    unknown_precision: float | None
    unknown_recall: float | None
    ms_per_query: float
    ms_per_single_query: float


def read_labelled_csv(path: Path) -> list[LabelledText]:
    """Read a `text,label` CSV (other columns are ignored); raise InvalidInput naming the flaw."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                raise InvalidInput(f"{path}: the file is empty; expected a header `text,label`")
            missing = [c for c in ("text", "label") if c not in reader.fieldnames]
            if missing:
                raise InvalidInput(
                    f"{path}: missing column {' and '.join(missing)} "
                    f"(header has {', '.join(reader.fieldnames)}); "
                    "expected a header `text,label`"
                )
            rows = []
            for row in reader:
                text, label = (row["text"] or "").strip(), (row["label"] or "").strip()
                if not text or not label:
                    empty = "text" if not text else "label"
                    raise InvalidInput(f"{path}:{reader.line_num}: empty {empty}")
                rows.append(LabelledText(text, label))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: cannot read it as UTF-8 CSV: {exc}") from None
    if not rows:
        raise InvalidInput(f"{path}: no rows below the header")
    return rows


def examples_by_label(rows: Sequence[LabelledText]) -> dict[str, list[str]]:
    """Group labelled rows into the {label: [texts]} a Router is built from."""
    examples: dict[str, list[str]] = {}
    for row in rows:
        examples.setdefault(row.label, []).append(row.text)
    return examples


def evaluate_router(router: Router, test: Sequence[LabelledText]) -> RouteEvaluation:
    """Route every test text and score the decisions; a test label must be a route or `unknown`."""
    strangers = sorted({r.label for r in test} - set(router.labels) - {UNKNOWN})
    if strangers:
        raise InvalidInput(
            f"test labels {', '.join(strangers)} are not routes of the router; "
            f"label a query `{UNKNOWN}` when it belongs to no route"
        )
    texts = [r.text for r in test]
    started = time.perf_counter()
    predicted = [d.label for d in router.route_batch(texts)]
    batch_ms = (time.perf_counter() - started) * 1000 / len(texts)
    sample = texts[:SINGLE_QUERY_SAMPLE]
    started = time.perf_counter()
    for text in sample:
        router.route(text)
    single_ms = (time.perf_counter() - started) * 1000 / len(sample)
    gold = [r.label for r in test]
    return RouteEvaluation(
        queries=len(test),
        routes=len(router.labels),
        unknown_threshold=router.config.unknown_threshold,
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold),
        macro_f1=_macro_f1(gold, predicted),
        unknown_precision=_ratio(gold, predicted, among=predicted),
        unknown_recall=_ratio(gold, predicted, among=gold),
        ms_per_query=batch_ms,
        ms_per_single_query=single_ms,
    )


def _macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over the labels that occur in the test set (`unknown` included when present)."""
    scores = []
    for label in sorted(set(gold)):
        hits = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        claimed, actual = predicted.count(label), gold.count(label)
        scores.append(2 * hits / (claimed + actual))
    return sum(scores) / len(scores)


def _ratio(gold: Sequence[str], predicted: Sequence[str], among: Sequence[str]) -> float | None:
    """Share of the `unknown` entries of `among` on which gold and prediction agree."""
    total = among.count(UNKNOWN)
    if total == 0:
        return None
    agreed = sum(g == p == UNKNOWN for g, p in zip(gold, predicted, strict=True))
    return agreed / total
