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


@router.get("", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The approvals inbox is the console's first page: it is what operators act on."""
    return _page(request, "inbox.html", page="inbox")


@router.get("/", response_class=RedirectResponse)
async def home_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/inbox/{thread_id}", response_class=HTMLResponse)
async def review(request: Request, thread_id: ThreadId) -> HTMLResponse:
    return _page(request, "review.html", page="inbox", thread_id=thread_id)


@router.get("/chat", response_class=HTMLResponse)
async def chat(request: Request) -> HTMLResponse:
    return _page(request, "chat.html", page="chat")


@router.get("/threads", response_class=HTMLResponse)
async def threads(request: Request) -> HTMLResponse:
    return _page(request, "threads.html", page="threads")


@router.get("/threads/{thread_id}", response_class=HTMLResponse)
async def thread(request: Request, thread_id: ThreadId) -> HTMLResponse:
    return _page(request, "thread.html", page="threads", thread_id=thread_id)


@router.get("/metrics", response_class=HTMLResponse)
async def metrics(request: Request) -> HTMLResponse:
    return _page(request, "metrics.html", page="metrics")


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request) -> HTMLResponse:
    """The audit trail: what the tenant's callers did, read from `GET /audit`."""
    return _page(request, "audit.html", page="audit")


# The page shells' route templates: they hold no data (every datum is an API call carrying the
# operator's credentials), so an auth gate can leave them open and guard the API alone.
PAGES = frozenset(route.path for route in router.routes if hasattr(route, "path"))
