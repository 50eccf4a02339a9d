"""The access log of `mailing serve`: method, route, status and time, never a code or a client address.

uvicorn's own access log writes the full path (which holds the response code on the answer page) and the
client's address (personal data); `mailing serve` turns it off and this middleware logs instead. A path is
logged as the route's template when a route of the application matched (`/campaigns/{name}`), and as
`/[answer]` for everything the answer page handles (any other path): its segments may hold a code. The
query string is never logged.
"""

from __future__ import annotations

import time

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailing.log import get_logger

log = get_logger("mailing.web.access")
ANSWER_PLACEHOLDER = "/[answer]"


def logged_path(scope: Scope) -> str:
    """The path as the log may show it (see the module docstring)."""
    app = scope.get("app")
    path = scope.get("path", "")
    if path.startswith("/static/"):
        return "/static/" + path.rsplit("/", 1)[-1]
    for route in getattr(getattr(app, "router", None), "routes", []):
        if isinstance(route, Route) and route.path != "/{path:path}":
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return route.path_format
    return ANSWER_PLACEHOLDER


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def remember_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            log.info('"%s %s" %d %.0f ms', scope.get("method", ""), logged_path(scope), status[0],
                     (time.perf_counter() - started) * 1000)
