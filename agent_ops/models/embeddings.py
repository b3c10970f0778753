"""The embedded embedding model (all-MiniLM-L6-v2, the router's) as LangChain `Embeddings`."""

from __future__ import annotations

import asyncio

from langchain_core.embeddings import Embeddings

from agent_ops.models._embedder import shared_embedder

MINILM_DIMS = 384


class MiniLMEmbeddings(Embeddings):
    """Unit-length 384-dimension sentence embeddings, computed offline with numpy."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [row.tolist() for row in shared_embedder().encode(texts)] if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)
