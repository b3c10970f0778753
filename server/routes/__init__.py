"""Route families of the LangGraph Server API, one module per resource; they import
`server.deps`, `server.schemas`, `server.views`, `server.sse` and the public `agent_ops` surfaces."""
