"""Turn the results of all targets into ratios, a readable table and a JSON file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# (label, section, field, source); source is "server", "floor" or "ratio", or "memory".
ROWS: list[tuple[str, str, str, str]] = [
    ("runs.wait p50 ms (new thread)", "wait_thread", "p50_ms", "server"),
    ("runs.wait p95 ms (new thread)", "wait_thread", "p95_ms", "server"),
    ("runs.wait p50 ms (stateless)", "wait_stateless", "p50_ms", "server"),
    ("runs.wait p95 ms (stateless)", "wait_stateless", "p95_ms", "server"),
    ("throughput runs/s", "throughput", "runs_per_s", "server"),
    ("  client CPU share", "throughput", "client_cpu_share", "server"),
    ("stream first event p50 ms", "first_event", "p50_ms", "server"),
    ("stream first token p50 ms", "first_token", "p50_ms", "server"),
    ("interrupt+resume p50 ms", "interrupt_resume", "p50_ms", "server"),
    ("floor ainvoke p50 ms", "wait_thread", "p50_ms", "floor"),
    ("floor ainvoke p95 ms", "wait_thread", "p95_ms", "floor"),
    ("floor throughput runs/s", "throughput", "runs_per_s", "floor"),
    ("floor interrupt+resume p50 ms", "interrupt_resume", "p50_ms", "floor"),
    ("ratio p50 server/floor", "ratios", "wait_p50", "ratio"),
    ("ratio runs/s server/floor", "ratios", "throughput", "ratio"),
    ("ratio interrupt p50 server/floor", "ratios", "interrupt_p50", "ratio"),
]

# The invoice benchmark: each path's latency through the server and in process, then what each
# node of the in-process paid run took.
INVOICE_ROWS: list[tuple[str, str, str, str]] = (
    [
        (f"{where}{label} {pct} ms", path, f"{pct}_ms", source)
        for where, source in (("", "server"), ("floor ", "floor"))
        for label, path in (("to paid", "paid"), ("to review pause", "paused"))
        for pct in ("p50", "p90")
    ]
    + [
        (f"ratio {label} {pct} server/floor", "ratios", f"{path}_{pct}", "ratio")
        for label, path in (("paid", "paid"), ("pause", "paused"))
        for pct in ("p50", "p90")
    ]
    + [
        (f"floor paid, {node} p50 ms", "paid_steps_p50_ms", node, "floor")
        for node in ("receive", "check", "book", "post", "pay", "ledger", "notify")
    ]
)

# The memory result is one flat section; its rows name a field of it.
MEMORY_ROWS: list[tuple[str, str, str, str]] = [
    (label, "memory", field, "memory")
    for label, field in [
        ("warm-up threads (interrupted)", "warmup_threads"),
        ("new threads (interrupted)", "threads"),
        ("threads counted interrupted", "interrupted_threads"),
        ("seconds to create them", "create_seconds"),
        ("  threads/s", "threads_per_s"),
        ("RSS before MB", "rss_before_mb"),
        ("RSS after MB", "rss_after_mb"),
        ("RSS after idle pause MB", "rss_idle_mb"),
        ("RSS delta MB (idle - before)", "rss_delta_mb"),
        ("RSS bytes per thread", "bytes_per_thread"),
        ("store growth MB", "store_delta_mb"),
        ("resumed from the store", "resumed"),
        ("  ms per resume", "resume_ms_per_thread"),
    ]
]


def _get(section: dict[str, Any] | None, key: str, field: str) -> Any:
    return ((section or {}).get(key) or {}).get(field)


def ratios(server: dict[str, Any], floor: dict[str, Any]) -> dict[str, float | None]:
    """Return server/floor for p50 latency, throughput and the interrupt round trip."""

    def ratio(key: str, field: str) -> float | None:
        top, bottom = _get(server, key, field), _get(floor, key, field)
        return top / bottom if top is not None and bottom else None

    return {
        "wait_p50": ratio("wait_thread", "p50_ms"),
        "throughput": ratio("throughput", "runs_per_s"),
        "interrupt_p50": ratio("interrupt_resume", "p50_ms"),
    }


def _errors(result: dict[str, Any]) -> int:
    return sum(
        phase.get("errors", 0)
        for part in ("server", "floor", "memory")
        for phase in (result.get(part) or {}).values()
        if isinstance(phase, dict)
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def table(results: dict[str, dict[str, Any]], rows: list[tuple[str, str, str, str]] = ROWS) -> str:
    """Return the results as a fixed-width table, one column per target and one row per `rows`."""
    names = list(results)
    lines = [("", *names), ("status", *(results[n]["status"] for n in names))]
    for label, key, field, source in rows:
        cells = []
        for name in names:
            result = results[name]
            if source in ("ratio", "memory"):
                value = (result.get(key) or {}).get(field)
            else:
                value = _get(result.get(source), key, field)
            cells.append(_cell(value))
        lines.append((label, *cells))
    lines.append(("errors (all phases)", *(str(_errors(results[n])) for n in names)))
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    rendered = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in lines
    ]
    failures = [f"{n}: {results[n]['reason']}" for n in names if results[n].get("reason")]
    return "\n".join(rendered + failures)


def write(document: dict[str, Any], path: Path = RESULTS) -> Path:
    """Write the document's top-level sections into the JSON file at `path`, keeping the others
    (the latency and memory benchmarks share one file), and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if path.is_file():
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            # Fresh numbers must not be lost to an old file; say what is being replaced.
            print(f"{path} was not valid JSON ({exc}); replacing it", file=sys.stderr)
    path.write_text(json.dumps(existing | document, indent=2, sort_keys=False) + "\n")
    return path
