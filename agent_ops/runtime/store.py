"""The long-term memory store that graphs and the `/store` routes share, with semantic search.

Items live in the storage backend (`store_items`). When langgraph.json configures
`"store": {"index": {"embed": ..., "dims": ..., "fields": [...]}}` (the LangGraph CLI format),
each put embeds the chosen fields and keeps the unit vectors beside the item, and a search with
`query` ranks the items under the prefix by cosine similarity (the best field per item). Ranking
reads the candidates' vectors and scores them here, so it costs one pass over the items under the
namespace prefix: fine for the thousands of memories of an agent; a vector index (pgvector) is
the step for millions. Each tenant has its own items: the caller's (an HTTP request's, or the
run's whose graph is running), the default tenant's without authentication.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    get_text_at_path,
    tokenize_path,
)

from agent_ops.errors import ConfigError, InvalidInput
from agent_ops.governance import stamp, tenant_of_caller
from agent_ops.storage import Namespaces, Storage, StoreItem

_EMBEDDED = ("local:minilm", "embed:minilm", "minilm", "all-minilm-l6-v2")


@dataclass(frozen=True)
class StoreIndex:
    """How items are embedded: the model, its dimension and the value paths to embed."""

    embeddings: Embeddings
    dims: int
    fields: tuple[str, ...] = ("$",)

    async def vectors(self, value: dict[str, Any], fields: Iterable[str] | None = None) -> bytes:
        """Embed the texts at `fields` of `value`; empty bytes when none of them has text."""
        texts = [
            text
            for path in (self.fields if fields is None else fields)
            for text in _texts_at(value, path)
            if text.strip()
        ]
        if not texts:
            return b""
        rows = await self.embeddings.aembed_documents(texts)
        return _unit_rows(rows, self.dims, "document").tobytes()

    async def query_vector(self, query: str) -> np.ndarray:
        row: np.ndarray = _unit_rows(
            [await self.embeddings.aembed_query(query)], self.dims, "query"
        )[0]
        return row


def build_index(config: dict[str, Any] | None, base: Path) -> StoreIndex | None:
    """Read langgraph.json's `store.index`; None when there is none. ConfigError names a fault."""
    if not config or config.get("index") is None:
        return None
    index = config["index"]
    if not isinstance(index, dict) or "embed" not in index:
        raise ConfigError('store.index must be an object with "embed", "dims" and "fields"')
    embed = index["embed"]
    dims = index.get("dims")
    if not isinstance(dims, int) or dims <= 0:
        raise ConfigError(f"store.index.dims must be a positive integer, got {dims!r}")
    fields = index.get("fields") or ["$"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise ConfigError(f"store.index.fields must be a list of paths, got {fields!r}")
    return StoreIndex(_embeddings(embed, dims, base), dims, tuple(fields))


def _embeddings(embed: Any, dims: int, base: Path) -> Embeddings:
    if isinstance(embed, str) and embed.lower() in _EMBEDDED:
        from agent_ops.models.embeddings import MINILM_DIMS, MiniLMEmbeddings

        if dims != MINILM_DIMS:
            raise ConfigError(
                f"store.index: {embed} makes {MINILM_DIMS}-dimension vectors, not {dims}"
            )
        return MiniLMEmbeddings()
    if isinstance(embed, str) and embed.startswith("openai:"):
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(model=embed.removeprefix("openai:"), dimensions=dims)
    if isinstance(embed, str) and ":" in embed:
        from agent_ops.runtime.registry import load_attr

        target = load_attr(embed, base, "store.index.embed", "agent_ops_store_embed")
        if isinstance(target, Embeddings):
            return target
        if isinstance(target, type) and issubclass(target, Embeddings):
            return target()
        raise ConfigError(f"store.index.embed: {embed} is not a LangChain Embeddings")
    raise ConfigError(
        f"store.index.embed {embed!r} is not known: use 'local:minilm' (embedded), "
        "'openai:<model>' or './file.py:attr' naming a LangChain Embeddings"
    )


def _texts_at(value: dict[str, Any], path: str) -> list[str]:
    if path == "$":
        return [json.dumps(value, ensure_ascii=False)]
    found = get_text_at_path(value, tokenize_path(path))
    return [t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in found]


def _unit_rows(rows: list[list[float]], dims: int, what: str) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dims:
        raise InvalidInput(
            f"the store's embedding model returned {what} vectors of shape {matrix.shape}; "
            f"store.index.dims is {dims}"
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return unit


class ServerStore(BaseStore):
    """LangGraph's `BaseStore` over agent-ops storage: what graphs get as `store`."""

    def __init__(self, storage: Storage, index: StoreIndex | None = None) -> None:
        self.storage = storage
        self.index = index
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the operations, shared by graphs and the HTTP routes ------------------------------------
    async def put_value(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: list[str] | bool | None = None,
        *,
        ttl_seconds: float | None = None,
    ) -> None:
        """Insert or replace an item, embedding it unless `index` is False or none is set up."""
        if index not in (None, False) and self.index is None:
            raise InvalidInput(
                "index: semantic indexing is not configured (langgraph.json store.index)"
            )
        vectors = None
        if self.index is not None and index is not False:
            fields = None if index in (None, True) else list(index)  # type: ignore[arg-type]
            vectors = await self.index.vectors(value, fields) or None
        await self.storage.put_item(
            namespace, key, value, ttl_seconds=ttl_seconds, vectors=vectors, **stamp()
        )

    async def find(self, search: SearchOp) -> list[tuple[StoreItem, float | None]]:
        """Items under the search's prefix matching its `filter`: with a `query` and an index,
        best match first with scores; otherwise newest first, unscored (a query without an index
        is ignored, as LangGraph's stores do; the HTTP route refuses it instead)."""
        prefix, query, filter = search.namespace_prefix, search.query, search.filter
        limit, offset = search.limit, search.offset
        if not query or self.index is None:
            items = await self.storage.search_items(
                prefix, filter=filter, limit=limit, offset=offset, tenant_id=tenant_of_caller()
            )
            return [(item, None) for item in items]
        wanted = await self.index.query_vector(query)
        candidates = await self.storage.search_vectors(
            prefix, filter=filter, tenant_id=tenant_of_caller()
        )
        scored: list[tuple[StoreItem, float | None]] = []
        for item, blob in candidates:
            rows = np.frombuffer(blob, dtype=np.float32).reshape(-1, self.index.dims)
            scored.append((item, float((rows @ wanted).max())))
        scored.sort(key=lambda pair: (-(pair[1] or 0.0), pair[0].namespace, pair[0].key))
        return scored[offset : offset + limit]

    # -- BaseStore -----------------------------------------------------------------------------
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        self._loop = asyncio.get_running_loop()
        return [await self._apply(op) for op in ops]

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run from a sync node (a worker thread): hop onto the server's event loop."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("ServerStore.batch needs the server's event loop; call abatch first")
        return asyncio.run_coroutine_threadsafe(self.abatch(list(ops)), loop).result()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the loop that sync graph nodes hop back onto."""
        self._loop = loop

    async def _apply(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            got = await self.storage.get_item(
                op.namespace, op.key, refresh_ttl=op.refresh_ttl, tenant_id=tenant_of_caller()
            )
            return None if got is None else _item(got)
        if isinstance(op, PutOp):
            if op.value is None:
                await self.storage.delete_item(op.namespace, op.key, tenant_id=tenant_of_caller())
            else:
                ttl = None if op.ttl is None else op.ttl * 60  # LangGraph TTLs are minutes
                await self.put_value(
                    op.namespace, op.key, dict(op.value), op.index, ttl_seconds=ttl
                )
            return None
        if isinstance(op, SearchOp):
            found = await self.find(op)
            return [_search_item(i, score) for i, score in found]
        if isinstance(op, ListNamespacesOp):
            prefix = suffix = None
            for condition in op.match_conditions or ():
                if "*" in condition.path:
                    raise InvalidInput("namespace match conditions with '*' are not supported")
                if condition.match_type == "prefix":
                    prefix = condition.path
                else:
                    suffix = condition.path
            return await self.storage.list_namespaces(
                Namespaces(
                    prefix=prefix,
                    suffix=suffix,
                    max_depth=op.max_depth,
                    limit=op.limit,
                    offset=op.offset,
                    tenant_id=tenant_of_caller(),
                )
            )
        raise InvalidInput(f"unknown store operation {type(op).__name__}")


def _fields(item: StoreItem) -> dict[str, Any]:
    return {
        "namespace": tuple(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _item(item: StoreItem) -> Item:
    return Item(**_fields(item))


def _search_item(item: StoreItem, score: float | None) -> SearchItem:
    return SearchItem(**_fields(item), score=score)


__all__ = ["ServerStore", "StoreIndex", "build_index"]
