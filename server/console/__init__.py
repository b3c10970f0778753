"""The operator console at `/console`: server-rendered page shells over the LangGraph Server API.

The pages are Jinja2 templates; their data comes from the same HTTP API every client uses
(fetched by small ES modules in `static/`), so the console is also a client test of that API.
"""

from server.console.routes import PAGES, STATIC_DIR, router

__all__ = ["PAGES", "STATIC_DIR", "router"]
