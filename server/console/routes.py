"""The console's pages: each renders a shell; its module in `static/` fills it from the API.

No route here reads threads, runs or state: the browser asks the LangGraph Server API for them,
as any client would (the shells only carry ids taken from the URL, escaped by Jinja2).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from server.deps import ThreadId

STATIC_DIR = Path(__file__).parent / "static"
_templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

router = APIRouter(prefix="/console", include_in_schema=False)


def _page(request: Request, template: str, **context: object) -> HTMLResponse:
    # Behind a proxy that mounts the app under a prefix, links and API calls carry it.
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return _templates.TemplateResponse(request, template, {"root": root, **context})


@router.get("/", response_class=RedirectResponse)
async def home_slash() -> RedirectResponse:
    return RedirectResponse("/console")


# The page shells by navigation tab: path -> template. The approvals inbox is the first page
# (it is what operators act on); the audit page reads the tenant's trail from `GET /audit`.
_SHELLS = {
    "inbox": {"": "inbox.html", "/inbox/{thread_id}": "review.html"},
    "threads": {"/threads": "threads.html", "/threads/{thread_id}": "thread.html"},
    "chat": {"/chat": "chat.html"},
    "metrics": {"/metrics": "metrics.html"},
    "audit": {"/audit": "audit.html"},
}


def _shell(path: str, template: str, tab: str) -> None:
    """Serve the page shell at `path`; a thread id in it is checked (422) and handed over."""
    if "{thread_id}" in path:

        async def of_thread(request: Request, thread_id: ThreadId) -> HTMLResponse:
            return _page(request, template, page=tab, thread_id=thread_id)

        router.add_api_route(path, of_thread, response_class=HTMLResponse, methods=["GET"])
    else:

        async def shell(request: Request) -> HTMLResponse:
            return _page(request, template, page=tab)

        router.add_api_route(path, shell, response_class=HTMLResponse, methods=["GET"])


for _tab, _pages in _SHELLS.items():
    for _path, _template in _pages.items():
        _shell(_path, _template, _tab)


# The page shells' route templates: they hold no data (every datum is an API call carrying the
# operator's credentials), so an auth gate can leave them open and guard the API alone.
PAGES = frozenset(route.path for route in router.routes if hasattr(route, "path"))
