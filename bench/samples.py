"""What a measurement phase collects (timings, errors) and how it is summarised."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter

MAX_ERRORS = 10


class PhaseAborted(RuntimeError):
    """Raised when a phase has failed so often that going on would only measure the failure."""


@dataclass
class Timings:
    """Latencies in seconds of the successful calls of one phase, and the calls that failed."""

    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def measure(self, call: Callable[[], Awaitable[float | None]], *, keep: bool) -> None:
        """Await `call`, recording its duration (or the duration it returns) or its error."""
        start = perf_counter()
        try:
            measured = await call()
        except Exception as exc:  # the bench reports a failed call; it does not stop on one
            self.errors.append(f"{type(exc).__name__}: {exc}")
            if len(self.errors) >= MAX_ERRORS:
                raise PhaseAborted(f"{len(self.errors)} errors, last: {self.errors[-1]}") from exc
            return
        if keep:
            self.seconds.append(perf_counter() - start if measured is None else measured)

    def summary(self) -> dict[str, float | int | list[str]]:
        """Return n, p50, p90, p95 and mean in milliseconds, and the distinct errors."""
        ordered = sorted(self.seconds)
        result: dict[str, float | int | list[str]] = {"n": len(ordered)}
        if ordered:
            result |= {
                "p50_ms": 1000 * percentile(ordered, 50),
                "p90_ms": 1000 * percentile(ordered, 90),
                "p95_ms": 1000 * percentile(ordered, 95),
                "mean_ms": 1000 * sum(ordered) / len(ordered),
            }
        result["errors"] = len(self.errors)
        if self.errors:
            result["error_kinds"] = sorted(set(self.errors))[:5]
        return result


@dataclass
class Throughput:
    """Runs completed by concurrent workers over a wall-clock window."""

    runs: int = 0
    seconds: float = 0.0
    concurrency: int = 0
    client_cpu_seconds: float | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | list[str] | None]:
        """Return runs, seconds, runs/s and the distinct errors."""
        result: dict[str, float | int | list[str] | None] = {
            "runs": self.runs,
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "runs_per_s": self.runs / self.seconds if self.seconds else 0.0,
            "errors": len(self.errors),
        }
        if self.client_cpu_seconds is not None and self.seconds:
            # Near 1.0 means the one-process client, not the server, set the pace.
            result["client_cpu_share"] = self.client_cpu_seconds / self.seconds
        if self.errors:
            result["error_kinds"] = sorted(set(self.errors))[:5]
        return result


def percentile(ordered: list[float], pct: float) -> float:
    """Return the nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
