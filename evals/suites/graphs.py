"""The graphs the shipped suites evaluate (registered in `evals/suites/langgraph.json`).

`customer_router` routes a customer query with the embedded router (`agent_ops.models.Router`)
built from a labelled CSV (`configurable.routes_csv`, default the BANKING77 training split);
`invoice_extraction` reads an invoice from a document as the invoice workflow's `extract` step
does, with the run's model layer, without the ERP's hints (so it runs with no Tryton).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from agent_ops.deps import deps_for
from agent_ops.errors import InvalidInput
from agent_ops.models import Router, examples_by_label, read_labelled_csv

__all__ = ["customer_router", "invoice_extraction"]

BANKING77_TRAIN = Path(__file__).parents[1] / "datasets" / "banking77" / "train.csv"

# Embedding the examples takes seconds; a router is built once per CSV per process, not per run
# (a cache of derived values, not configuration: the CSV path comes with each run's config).
_routers: dict[Path, asyncio.Task[Router]] = {}


async def _router(path: Path) -> Router:
    if path not in _routers:

        def build() -> Router:
            return Router.from_examples(examples_by_label(read_labelled_csv(path)))

        _routers[path] = asyncio.ensure_future(asyncio.to_thread(build))
    return await _routers[path]


class RouteState(TypedDict, total=False):
    text: str
    route: str
    score: float
    margin: float


async def route(state: RouteState, config: RunnableConfig) -> dict[str, Any]:
    """Send the query to the nearest route, or `unknown` for a person."""
    text = state.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"input `text` must be a non-empty string, got {text!r}")
    csv = (config.get("configurable") or {}).get("routes_csv")
    router = await _router(Path(csv) if csv else BANKING77_TRAIN)
    decision = await router.aroute(text)
    return {"route": decision.label, "score": decision.score, "margin": decision.margin}


class ExtractionState(TypedDict, total=False):
    document: dict[str, Any]
    invoice: dict[str, Any] | None
    extraction: dict[str, Any]


async def extract(state: ExtractionState, config: RunnableConfig) -> dict[str, Any]:
    """Read the invoice; `extraction.review` says whether a person must check it."""
    from tools.documents import Document, extract_invoice

    document = Document.model_validate(state.get("document") or {})
    models = deps_for(config).models
    read = await extract_invoice(document, models=models, use_model=models is not None)
    extraction = read.model_dump(mode="json")
    invoice = extraction.pop("invoice")
    extraction.pop("evidence", None)  # page boxes: bulky, and not what is scored
    return {"invoice": invoice, "extraction": extraction}


def _one_step(state: type[Any], name: str, step: Callable[..., Awaitable[dict[str, Any]]]) -> Any:
    """Return a compiled graph of one node: what a suite scores is that step alone."""
    builder = StateGraph(state)
    builder.add_node(name, step)
    builder.add_edge(START, name)
    builder.add_edge(name, END)
    return builder.compile()


customer_router = _one_step(RouteState, "route", route)
invoice_extraction = _one_step(ExtractionState, "extract", extract)
