"""The offline router: sends a text to the route whose labelled examples it is nearest to.

Examples are embedded once with all-MiniLM-L6-v2 (agent_ops.models._embedder); a query is scored
against every route by cosine similarity, and one that is far from all of them is `unknown`
(for a person to handle) rather than a forced guess.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_ops.errors import ConfigError, checked_config
from agent_ops.models._embedder import Embedder, Matrix, shared_embedder

UNKNOWN = "unknown"
# Chosen on evals/datasets/banking77/dev.csv (never on test.csv): the threshold with the best
# accuracy there, where held-out intents and out-of-domain queries are labelled `unknown`.
DEFAULT_UNKNOWN_THRESHOLD = 0.5


class RouterConfig(BaseModel):
    """Routes and their labelled examples, as kept in a YAML or JSON file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: dict[str, list[str]] = Field(min_length=1)
    unknown_threshold: float = Field(DEFAULT_UNKNOWN_THRESHOLD, ge=0.0, le=1.0)
    method: Literal["centroid", "knn"] = "centroid"
    k: int = Field(3, ge=1, description="knn: a route scores the mean of its k nearest examples")
    alternatives: int = Field(3, ge=1, description="runner-up routes reported with a decision")

    @field_validator("routes")
    @classmethod
    def _check_routes(cls, routes: dict[str, list[str]]) -> dict[str, list[str]]:
        for label, examples in routes.items():
            if not label.strip():
                raise ValueError("a route label is empty")
            if label == UNKNOWN:
                raise ValueError(f"`{UNKNOWN}` is reserved for queries that match no route")
            if not any(text.strip() for text in examples):
                raise ValueError(f"route {label!r} has no examples")
        return routes

    @classmethod
    def load(cls, path: Path) -> RouterConfig:
        """Read a router config from a .yaml/.yml or .json file."""
        try:
            raw = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read router config {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"router config {path} is not valid JSON/YAML: {exc}") from None
        return cls.checked(data, source=f"router config {path}")

    @classmethod
    def checked(cls, data: object, source: str = "router config") -> RouterConfig:
        """Validate data as a RouterConfig; raise ConfigError naming the first problem."""
        return checked_config(cls, data, source)


@dataclass(frozen=True)
class RouteScore:
    label: str
    score: float


@dataclass(frozen=True)
class RouteDecision:
    """Where a text goes: a route label or `unknown`, with the evidence.

    score is the cosine similarity to the best route, margin how far ahead of the runner-up it is
    (with a single route, the score itself); alternatives are the best routes in order, kept even
    for `unknown` so a person sees the nearest candidates.
    """

    label: str
    score: float
    margin: float
    alternatives: tuple[RouteScore, ...]

    @property
    def is_unknown(self) -> bool:
        return self.label == UNKNOWN


class Router:
    """Nearest-centroid (or per-route k-NN) classifier over embedded examples.

    Thread-safe: it holds only read-only arrays and the shared embedder.
    """

    def __init__(self, config: RouterConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self._embedder = embedder or shared_embedder()
        self.labels: tuple[str, ...] = tuple(config.routes)
        texts = [t for label in self.labels for t in config.routes[label] if t.strip()]
        owners = [
            i for i, label in enumerate(self.labels) for t in config.routes[label] if t.strip()
        ]
        self._examples = self._embedder.encode(texts)
        self._owners = np.array(owners)
        centroids = np.stack(
            [self._examples[self._owners == i].mean(axis=0) for i in range(len(self.labels))]
        )
        self._centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    @classmethod
    def from_examples(cls, examples: dict[str, list[str]], **options: object) -> Router:
        """Build a router from {label: [example texts]}; options are RouterConfig fields."""
        return cls(RouterConfig.checked({"routes": examples, **options}))

    def with_threshold(self, unknown_threshold: float) -> Router:
        """Return a router over the same embedded examples with another unknown threshold."""
        twin = copy.copy(self)
        twin.config = RouterConfig.checked(
            {**self.config.model_dump(), "unknown_threshold": unknown_threshold}
        )
        return twin

    def route(self, text: str) -> RouteDecision:
        """Route one text."""
        return self.route_batch([text])[0]

    def route_batch(self, texts: Sequence[str]) -> list[RouteDecision]:
        """Route many texts, embedding them in batches."""
        if not texts:
            return []
        return [self._decide(row) for row in self._scores(self._embedder.encode(texts))]

    async def aroute(self, text: str) -> RouteDecision:
        """Route one text without blocking the event loop (the model runs in a thread)."""
        return await asyncio.to_thread(self.route, text)

    async def aroute_batch(self, texts: Sequence[str]) -> list[RouteDecision]:
        """Route many texts without blocking the event loop."""
        return await asyncio.to_thread(self.route_batch, texts)

    def _scores(self, queries: Matrix) -> Matrix:
        """Return one row per query, one column per route: its similarity to that route."""
        if self.config.method == "centroid":
            centroid: Matrix = queries @ self._centroids.T
            return centroid
        similarities = queries @ self._examples.T
        scores = np.empty((len(queries), len(self.labels)), dtype=np.float32)
        for i in range(len(self.labels)):
            own = similarities[:, self._owners == i]
            k = min(self.config.k, own.shape[1])
            scores[:, i] = -np.partition(-own, k - 1, axis=1)[:, :k].mean(axis=1)
        return scores

    def _decide(self, scores: Matrix) -> RouteDecision:
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        margin = best - float(scores[order[1]]) if len(order) > 1 else best
        label = self.labels[order[0]] if best >= self.config.unknown_threshold else UNKNOWN
        shown = order[: self.config.alternatives]
        return RouteDecision(
            label=label,
            score=best,
            margin=margin,
            alternatives=tuple(RouteScore(self.labels[i], float(scores[i])) for i in shown),
        )
