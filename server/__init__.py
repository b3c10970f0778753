"""The HTTP server: the LangGraph Server API (and the intake and decision logs) over FastAPI.

Each route parses its request (`schemas`), makes one call into the runtime and renders the
answer (`views`, `sse`). May import `agent_ops` and `agent_ops.runtime` (their public
surfaces) and FastAPI; never storage, graphs, tools or saved checkpoints directly.
"""
