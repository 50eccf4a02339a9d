"""The ASGI application of `mailing serve`: one Starlette app over one store.

Route modules each offer `routes(ctx) -> list[Route]`: the campaign page (`campaign`), the phone desk
(`phone`), the review station (`station`, mounted when that module is installed) and, last, the public
answer page (`answer`), which takes every path not matched before it (the campaign's response URL decides
its path). Static files come from the package (no CDN).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from mailing.store import Store
from mailing.web.accesslog import AccessLogMiddleware
from mailing.web.context import WebContext
from mailing.web.security import (
    SecurityHeadersMiddleware,
    SessionMiddleware,
    csrf_token,
    current_user,
    store_secret,
)

HERE = Path(__file__).parent
ROUTE_MODULES = ("campaign", "phone", "station")  # each optional; `answer` comes last and always


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.trim_blocks = templates.env.lstrip_blocks = True  # tidy HTML; no effect on what is shown
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.globals["current_user"] = current_user
    return templates


async def home(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    return ctx.templates.TemplateResponse(request, "home.html", {})


async def http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors as German pages; a 303 raised by `require_user` as a redirect."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307, 308):
        return RedirectResponse(exc.headers["Location"] if exc.headers else "/", status_code=exc.status_code)
    ctx: WebContext = request.app.state.ctx
    detail = exc.detail if exc.detail and exc.detail != _default_phrase(exc.status_code) else ""
    return ctx.templates.TemplateResponse(request, "error.html", {"status": exc.status_code, "detail": detail},
                                          status_code=exc.status_code, headers=exc.headers)


def _default_phrase(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _module_routes(ctx: WebContext, name: str) -> list[BaseRoute]:
    if importlib.util.find_spec(f"mailing.web.{name}") is None:
        return []
    module = importlib.import_module(f"mailing.web.{name}")
    return list(module.routes(ctx))


def create_app(store: Store) -> Starlette:
    """The web application over `store` (see the module docstring)."""
    ctx = WebContext(store=store, secret=store_secret(store), templates=make_templates())
    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    for name in ROUTE_MODULES:
        routes += _module_routes(ctx, name)
    routes += _module_routes(ctx, "answer")
    app = Starlette(routes=routes, middleware=[Middleware(AccessLogMiddleware), Middleware(SecurityHeadersMiddleware),
                                               Middleware(SessionMiddleware, secret=ctx.secret)],
                    exception_handlers={HTTPException: http_error})
    app.state.ctx = ctx
    return app


