"""The invoice benchmark: `invoice_approval` to paid, and to its review pause, timed end to end.

Through the server, one `runs.wait` per invoice (a structured invoice as input, on a thread
created untimed); in process, the same graph compiled with the backend's checkpointer (the
floor). Each books into its own copy of the same seeded Tryton. Every run is checked for where it must end (paid with a
submitted payment of the invoice's total, or paused on the price finding), and the ERP must
hold one posted invoice and one payment per clean run afterwards, so no path looks fast by
skipping work.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from time import perf_counter
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel
from langgraph_sdk.client import LangGraphClient

from agent_ops.deps import Deps
from bench.erp import BenchERP, settled
from bench.samples import Timings, percentile
from bench.workload import WrongAnswer, client
from graphs.invoice import Connections, build
from tools.tryton import TrytonSettings

GRAPH = "invoice_approval"
Outcome = Literal["paid", "paused"]
OUTCOMES: tuple[Outcome, ...] = ("paid", "paused")

# One run: its input invoice and whether it is timed in; its final state and seconds out.
Runner = Callable[[dict[str, Any], bool], Awaitable[tuple[dict[str, Any], float]]]


@dataclass(frozen=True)
class InvoicePlan:
    """Runs per path: `warmup` untimed, then `iterations` timed."""

    warmup: int
    iterations: int

    @property
    def runs(self) -> int:
        return self.warmup + self.iterations


def _inputs(erp: BenchERP, plan: InvoicePlan, path: Outcome) -> list[dict[str, Any]]:
    """Each clean invoice on a line of its own; the mismatched ones all on the line kept for them."""
    if path == "paid":
        if len(erp.clean) < plan.runs:
            raise ValueError(
                f"the bench's ERP has {len(erp.clean)} open lines for {plan.runs} runs"
            )
        return [line.invoice(f"PAID-{i}") for i, line in enumerate(erp.clean[: plan.runs])]
    return [erp.mismatched.invoice(f"PAUSE-{i}", mismatched=True) for i in range(plan.runs)]


PAUSE_FINDINGS = {"price_mismatch", "near_duplicate"}


def check(path: Outcome, invoice: dict[str, Any], state: dict[str, Any]) -> None:
    """Raise WrongAnswer unless `state` ended where `path` must: paid, or paused on the price."""
    number, erp = invoice["invoice_number"], state.get("erp") or {}
    codes = [f.get("code") for f in (state.get("match") or {}).get("findings") or []]
    if path == "paid":
        ok = (state.get("status"), erp.get("payment_state"), erp.get("amount")) == (
            "paid",
            "submitted",
            invoice["total"],
        )
    else:
        ok = state.get("status") == "needs_review" and bool(state.get("__interrupt__"))
        # The paused invoices are alike but for their numbers (one order line, one total, one
        # day), so each after the first is also a near duplicate of those before it.
        ok = ok and codes[:1] == ["price_mismatch"] and set(codes) <= PAUSE_FINDINGS
    if not ok:
        raise WrongAnswer(
            f"invoice {number} should have ended {path}: status {state.get('status')!r}, "
            f"findings {codes}, erp {erp}, reason {state.get('reason')!r}"
        )


async def _expect_settled(tryton: TrytonSettings, plan: InvoicePlan) -> dict[str, int]:
    books = await settled(tryton)
    if books != {"posted_invoices": plan.runs, "payments": plan.runs}:
        raise WrongAnswer(f"after {plan.runs} clean invoices the ERP holds {books}")
    return books


async def _server_run(
    sdk: LangGraphClient, invoice: dict[str, Any], timed: bool
) -> tuple[dict[str, Any], float]:
    thread_id = (await sdk.threads.create())["thread_id"]  # untimed, as in the latency phases
    start = perf_counter()
    state = await sdk.runs.wait(thread_id, GRAPH, input={"invoice": invoice})
    seconds = perf_counter() - start
    if not isinstance(state, dict):
        raise WrongAnswer(f"runs.wait returned {str(state)[:200]}")
    return state, seconds


async def _floor_run(
    graph: Pregel, steps: dict[str, list[float]], invoice: dict[str, Any], timed: bool
) -> tuple[dict[str, Any], float]:
    """Run `graph` on a fresh thread to its end or pause; if `timed`, add each node's seconds
    (from the previous node's end to its own, so its checkpoint is in it) to `steps`."""
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state: dict[str, Any] = {}
    interrupts: Any = None
    start = last = perf_counter()
    # (mode, chunk) pairs; typed loosely by langgraph, as a chunk's type depends on its mode.
    parts: Any = graph.astream({"invoice": invoice}, config, stream_mode=["updates", "values"])
    async for mode, chunk in parts:
        if mode == "values":
            state = chunk
            continue
        now = perf_counter()
        for node in chunk:
            if node == "__interrupt__":
                interrupts = chunk[node]
            elif timed:
                steps.setdefault(node, []).append(now - last)
        last = now
    seconds = perf_counter() - start
    return state | ({"__interrupt__": interrupts} if interrupts else {}), seconds


async def measure(
    url: str,
    saver: BaseCheckpointSaver[Any],
    plan: InvoicePlan,
    erp: BenchERP,
    server_erp: TrytonSettings,
    floor_erp: TrytonSettings,
) -> dict[str, Any]:
    """Time each path through the server at `url` (`runs.wait`) and in process (the graph
    compiled with `saver`), each on its own copy of the ERP. The two take turns, invoice by
    invoice, so both see the same machine (others' load on a shared one moves both alike)."""
    # The floor's graph gets its Tryton as a runtime hands it over: in its config.
    deps = Deps(connectors=Connections(tryton=floor_erp))
    graph = build().compile(checkpointer=saver).with_config(deps.bind())
    steps: dict[str, list[float]] = {}
    server: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    async with client(url) as sdk:
        for path in OUTCOMES:
            server_times, floor_times = Timings(), Timings()
            sides: list[tuple[Runner, Timings]] = [
                (partial(_server_run, sdk), server_times),
                (partial(_floor_run, graph, steps if path == "paid" else {}), floor_times),
            ]
            for index, invoice in enumerate(_inputs(erp, plan, path)):
                timed = index >= plan.warmup
                for run, timings in sides:
                    state, seconds = await run(invoice, timed)
                    check(path, invoice, state)  # a wrong end stops the bench: no lying
                    if timed:
                        timings.seconds.append(seconds)
            server[path], floor[path] = server_times.summary(), floor_times.summary()
    floor["paid_steps_p50_ms"] = {
        node: 1000 * percentile(sorted(times), 50) for node, times in steps.items()
    }
    server["erp"] = await _expect_settled(server_erp, plan)
    floor["erp"] = await _expect_settled(floor_erp, plan)
    return {"server": server, "floor": floor, "ratios": _ratios(server, floor)}


def _ratios(server: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    return {
        f"{path}_{pct}": server[path][f"{pct}_ms"] / floor[path][f"{pct}_ms"]
        for path in OUTCOMES
        for pct in ("p50", "p90")
    }
