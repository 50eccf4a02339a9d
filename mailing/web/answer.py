"""The public answer page: the letter's subject and greeting, the coupon's options, a send button.

It answers at the path of the campaign's response URL followed by the code (DESIGN.md: `serve`), in any
case and with or without hyphens, so the upper-case URL in the QR code and a typed one both work; the home
page takes a typed code too. It shows nothing personal but the greeting (whoever holds the paper sees it).

Enumeration: a malformed code, an unknown one, one of a letter never sent and a code under another
campaign's path all get the very same page (HTTP 404). Every such miss counts against the client in
`GUESSES`; a client over the limit gets HTTP 429 for every code, known or not, before anything is looked up,
so the throttle itself tells nothing either. Every form carries the session's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mailing import codes
from mailing.errors import NotFoundError
from mailing.respond import AnswerError, Letter, answer_letter, find_letter
from mailing.web.context import WebContext
from mailing.web.security import Throttle, check_csrf

GUESS_LIMIT = 20  # misses per client ...
GUESS_WINDOW_S = 600  # ... in this many seconds; a person mistyping a code needs far fewer

# German messages for the answers the library refuses
_REFUSALS = {
    "nothing": "Bitte kreuzen Sie mindestens eine Möglichkeit an.",
    "conflict": "Sie haben einen Rückruf gewünscht und zugleich der Werbung widersprochen. "
                "Bitte wählen Sie eines von beiden.",
}


def answer_url(letter: Letter) -> str:
    """The letter's answer page (the code grouped for people; a check symbol '%' escaped)."""
    return f"{letter.answer_path}/{quote(codes.format_code(letter.code), safe='-$*+')}"


def _split(path: str) -> tuple[str, str]:
    """'/r/7K3M-9QXP-2W4H/' → ('/r', '7K3M-9QXP-2W4H')."""
    trimmed = path.rstrip("/")
    prefix, _, last = trimmed.rpartition("/")
    return prefix, last


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/").casefold() == b.rstrip("/").casefold()


class AnswerPage:
    def __init__(self, ctx: WebContext, guesses: Throttle | None = None) -> None:
        self.ctx = ctx
        self.guesses = guesses or Throttle(GUESS_LIMIT, GUESS_WINDOW_S)

    # --------------------------------------------------------------------------------- lookup
    def _lookup(self, prefix: str, text: str) -> Letter | None:
        with self.ctx.store.connect() as conn:
            letter = find_letter(conn, text)
        if letter is None or not _same_path(prefix, letter.answer_path):
            return None
        return letter

    async def _letter(self, request: Request, prefix: str, text: str) -> Letter | None:
        self.guesses.check(request)  # before the lookup: a throttled client learns nothing
        letter = await run_in_threadpool(self._lookup, prefix, text)
        if letter is None:
            self.guesses.hit(request)
        return letter

    def _find(self, text: str) -> Letter | None:
        with self.ctx.store.connect() as conn:
            return find_letter(conn, text)

    # --------------------------------------------------------------------------------- pages
    def _page(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        response = self.ctx.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def not_found(self, request: Request) -> Response:
        return self._page(request, "answer_unknown.html", {}, 404)

    def form(self, request: Request, letter: Letter, ticked: set[str] | None = None, error: str = "",
             status: int = 200) -> Response:
        return self._page(request, "answer.html", {
            "letter": letter, "ticked": ticked or set(), "error": error,
            "action": answer_url(letter)}, status)

    async def page(self, request: Request) -> Response:
        prefix, text = _split(request.url.path)
        letter = await self._letter(request, prefix, text)
        if letter is None:
            return self.not_found(request)
        if request.method == "POST":
            return await self.submit(request, letter)
        return self.form(request, letter)

    async def submit(self, request: Request, letter: Letter) -> Response:
        form = await request.form()
        check_csrf(request, form)
        allowed = {o.key for o in letter.options} if not letter.answered else set(letter.optout)
        ticked = {k for k in _ticked(form) if k in allowed}
        try:
            answer = await run_in_threadpool(self._record, letter, ticked)
        except NotFoundError:
            return self.not_found(request)
        except AnswerError as exc:
            message = _REFUSALS.get(exc.reason, _REFUSALS["nothing"])
            return self.form(request, letter, ticked, message, 422)
        chosen = [o for o in letter.options if answer.options.get(o.key)]
        return self._page(request, "answer_thanks.html", {
            "letter": letter, "chosen": chosen, "duplicate": answer.status == "duplicate",
            "objection": answer.objection})

    def _record(self, letter: Letter, ticked: set[str]) -> Any:
        # looked up again inside the transaction: another channel may have answered in the meantime
        answer = answer_letter(self.ctx.store, lambda conn: find_letter(conn, letter.code),
                               {k: True for k in ticked}, "online", actor="online")
        if answer is None:
            raise NotFoundError(letter.code)
        return answer

    async def typed(self, request: Request) -> Response:
        """The home page's form: a typed code → its answer page (the same miss page for any wrong code)."""
        form = await request.form()
        check_csrf(request, form)
        text = str(form.get("code", ""))
        self.guesses.check(request)
        letter = await run_in_threadpool(self._find, text)
        if letter is None:
            self.guesses.hit(request)
            return self.not_found(request)
        return RedirectResponse(answer_url(letter), status_code=303)


def _ticked(form: FormData) -> list[str]:
    return [str(v) for v in form.getlist("option")]


async def robots(_request: Request) -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /\n")


async def favicon(_request: Request) -> Response:
    return Response(status_code=204)


def routes(ctx: WebContext) -> list[BaseRoute]:
    page = AnswerPage(ctx)
    return [
        Route("/robots.txt", robots, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/", page.typed, methods=["POST"]),
        Route("/{path:path}", page.page, methods=["GET", "POST"]),
    ]
