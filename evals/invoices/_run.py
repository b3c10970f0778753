"""Run the held-out cases through the real invoice graph, in process, against a Tryton of their
own, and write what happened: cases.jsonl, summary.json, summary.md and the mails themselves."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from agent_ops.deps import Deps
from agent_ops.models import MemoryDecisions, Models
from agent_ops.settings import Settings
from evals.invoices._cases import FORMATS, Case, Generator, with_orders
from evals.invoices._documents import public_cases, raw_mail
from evals.invoices._erp import Method, prepare, serving
from evals.invoices._mail import intake
from evals.invoices._score import Result, failed, markdown, result, summarize
from graphs.invoice import Connections, build

log = logging.getLogger("evals.invoices")
PUBLIC_FORMAT = "facturx"
ALL_FORMATS = (*FORMATS, PUBLIC_FORMAT)
DEFAULT_BASE = Path(__file__).resolve().parents[2] / ".tryton-demo"


@dataclass(frozen=True)
class Options:
    out: Path
    cases: int = 48  # generated cases (the public samples come on top when `facturx` is chosen)
    seed: int = 20261204
    method: Method = "order"  # the purchase orders' invoice method (Tryton's default: order)
    formats: tuple[str, ...] = ALL_FORMATS
    base: Path | None = None  # a built demo Tryton to copy (default: ensure one in .tryton-demo)
    timeout: float = 600.0  # per case
    model: bool = True  # install the model layer (the offline default: the embedded SmolLM2)


class _Outbox:
    """The workflow's notify channel: records each mail under the thread it was sent for."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def __call__(self, to: str, subject: str, body: str, key: str) -> dict[str, Any]:
        self.sent.append({"to": to, "subject": subject, "body": body, "key": key})
        return {"message_id": f"<{len(self.sent)}@eval.example>"}

    def outcomes(self, thread: str) -> int:
        return sum(1 for m in self.sent if m["key"].startswith(f"agent-ops/notify/{thread}/"))


def make_cases(options: Options, today: dt.date) -> list[Case]:
    """The generated cases for the options' formats, then the public samples if chosen."""
    generated = tuple(f for f in options.formats if f != PUBLIC_FORMAT)
    unknown = sorted(set(options.formats) - set(ALL_FORMATS))
    if unknown:
        raise ValueError(
            f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(ALL_FORMATS)}"
        )
    cases = Generator(options.seed, today).generate(options.cases, generated) if generated else []
    if PUBLIC_FORMAT in options.formats:
        cases += public_cases(len(cases))
    return cases


async def _run_case(
    graph: Any, case: Case, mail: dict[str, Any], outbox: _Outbox, seconds: float
) -> Result:
    config: RunnableConfig = {"configurable": {"thread_id": f"eval-{case.id}"}}
    start = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await graph.ainvoke({"intake": mail}, config)
        state = (await graph.aget_state(config)).values
    except Exception as exc:  # one case's failure is a counted error, never the end of the run
        log.warning("case %s failed: %s", case.id, exc)
        return failed(case, exc, time.perf_counter() - start)
    return result(case, state, time.perf_counter() - start, outbox.outcomes(f"eval-{case.id}"))


async def run(options: Options) -> dict[str, Any]:
    """Generate, seed, run and report; return the summary (also written to the out dir)."""
    from tools.tryton_demo import ensure_demo

    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    cases = make_cases(options, today)
    base = options.base
    if base is None:  # the demo `make tryton-demo` serves, built once per seed version
        base = DEFAULT_BASE
        await asyncio.to_thread(ensure_demo, base)
    numbers = await asyncio.to_thread(prepare, base, out / "tryton", cases, options.method, today)
    cases = with_orders(cases, numbers)
    mails = out / "mails"
    mails.mkdir(exist_ok=True)
    inputs = {}
    for case in cases:
        raw = raw_mail(case)
        (mails / f"{case.id}.eml").write_bytes(raw)
        inputs[case.id] = intake(case, raw)
    with (out / "truth.jsonl").open("w") as truth:
        for case in cases:
            truth.write(case.model_dump_json() + "\n")
    outbox = _Outbox()
    graph = build().compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    results: list[Result] = []
    # As `agent-ops serve` does: the models config the settings name, else the all-local
    # default; without it, text no rule reads is never given to a model.
    settings = Settings.load()
    models = Models.from_settings(settings, MemoryDecisions()) if options.model else None
    with serving(out / "tryton") as tryton:
        # What a runtime would hand the graph per run: the eval's Tryton, mail kept in the
        # outbox, the model layer and the address review mails link to.
        connections = Connections(tryton=tryton, notify=outbox)
        deps = Deps(models=models, connectors=connections, public_url=settings.url)
        bound = graph.with_config(deps.bind())
        try:
            with (out / "cases.jsonl").open("w") as lines:
                for number, case in enumerate(cases, 1):
                    done = await _run_case(bound, case, inputs[case.id], outbox, options.timeout)
                    results.append(done)
                    lines.write(json.dumps(done.row(), ensure_ascii=False) + "\n")
                    lines.flush()
                    log.info(
                        "%d/%d %s: %s %s",
                        number,
                        len(cases),
                        case.id,
                        done.status,
                        done.error or "",
                    )
        finally:
            await deps.aclose()
    summary = summarize(results)
    report = {
        "options": {
            "cases": options.cases,
            "seed": options.seed,
            "method": options.method,
            "formats": list(options.formats),
            "model": ",".join(models.config.role("extract").providers) if models else "none",
        },
        "kinds": dict(Counter(case.kind for case in cases)),
        "formats": summary,
    }
    (out / "summary.json").write_text(json.dumps(report, indent=2))
    (out / "summary.md").write_text(markdown(summary))
    return report
