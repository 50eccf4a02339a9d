"""The phone desk: a call-centre agent records what a caller answers, as a response with channel `phone`.

Behind the review station's login (any role). The agent finds the letter by the code the caller reads out,
or without it by surname and postal code; the letter's page shows whom it went to (so the agent can check
who is calling), whether and how it was answered, and the coupon's options. The rules are those of
`mailing.respond` (first answer wins across channels, an opt-out is suppressed at once, a call together
with an opt-out is refused with a question). Each answer goes to the audit log under the agent's name.
An agent finds only the letters of the clients they may see (`mailing user clients`); another client's
letter is "not found" for them.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mailing import codes
from mailing.clients import Access, client_of_piece
from mailing.respond import (
    AnswerError,
    Letter,
    answer_letter,
    find_letter,
    holder,
    letter_by_piece,
    search_letters,
)
from mailing.web.context import WebContext
from mailing.web.security import check_csrf, require_user, user_access

SOURCE_WORDS = {"scan": "Antwortkarte", "review": "Antwortkarte (geprüft)", "online": "online", "phone": "Telefon"}
_REFUSALS = {
    "conflict": "Rückruf und Werbewiderspruch schließen sich aus: bitte fragen Sie nach, was gemeint ist.",
    "search": "Bitte geben Sie den Nachnamen (mindestens 2 Buchstaben) und die Postleitzahl ein.",
}


class PhoneDesk:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def _page(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        response = self.ctx.templates.TemplateResponse(request, name, {"sources": SOURCE_WORDS, **context},
                                                       status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _visible(self, access: Access, piece_id: int) -> bool:
        if access.client_ids is None:
            return True
        with self.ctx.store.connect() as conn:
            return access.sees(client_of_piece(conn, piece_id))

    async def search(self, request: Request) -> Response:
        user = require_user(request)
        access = user_access(request, user)
        if request.method == "GET":
            return self._page(request, "phone.html", {"results": None})
        form = await request.form()
        check_csrf(request, form)
        code = str(form.get("code", "")).strip()
        name, plz = str(form.get("name", "")), str(form.get("postal_code", ""))
        if code:
            letter = await run_in_threadpool(self._find, code)
            if letter is not None and not self._visible(access, letter.piece_id):
                letter = None
            if letter is None:
                return self._page(request, "phone.html", {
                    "results": None, "code": code, "error": f"Kein versendeter Brief hat den Code {code}. "
                    "Bitte lassen Sie ihn noch einmal vorlesen oder suchen Sie nach Name und Postleitzahl."}, 404)
            return RedirectResponse(f"/phone/letters/{letter.piece_id}", status_code=303)
        try:
            results = await run_in_threadpool(search_letters, self.ctx.store, name, plz, 50, access.client_ids)
        except AnswerError as exc:
            return self._page(request, "phone.html", {"results": None, "name": name, "postal_code": plz,
                                                      "error": _REFUSALS.get(exc.reason, str(exc))}, 422)
        return self._page(request, "phone.html", {"results": results, "name": name, "postal_code": plz})

    def _find(self, code: str) -> Letter | None:
        with self.ctx.store.connect() as conn:
            return find_letter(conn, code)

    def _letter(self, piece_id: int, access: Access) -> tuple[Letter, Any]:
        with self.ctx.store.connect() as conn:
            letter = letter_by_piece(conn, piece_id)
        found = holder(self.ctx.store, piece_id)
        if letter is None or found is None or not self._visible(access, piece_id):
            raise HTTPException(404, "Diesen Brief gibt es nicht (oder er wurde nicht versendet).")
        return letter, found

    async def letter(self, request: Request) -> Response:
        user = require_user(request)
        access = user_access(request, user)
        piece_id = int(request.path_params["piece_id"])
        letter, found = await run_in_threadpool(self._letter, piece_id, access)
        if request.method == "GET":
            return self._letter_page(request, letter, found)
        form = await request.form()
        check_csrf(request, form)
        ticked = {str(v) for v in form.getlist("option")}
        try:
            answer = await run_in_threadpool(self._record, piece_id, ticked, user.name)
        except AnswerError as exc:
            return self._letter_page(request, letter, found, ticked, _REFUSALS.get(exc.reason, str(exc)), 422)
        letter, found = await run_in_threadpool(self._letter, piece_id, access)
        return self._page(request, "phone_done.html", {"letter": letter, "found": found, "answer": answer,
                                                       "formatted": codes.format_code(letter.code)})

    def _letter_page(self, request: Request, letter: Letter, found: Any, ticked: set[str] | None = None,
                     error: str = "", status: int = 200) -> Response:
        return self._page(request, "phone_letter.html", {
            "letter": letter, "found": found, "ticked": ticked or set(), "error": error,
            "formatted": codes.format_code(letter.code)}, status)

    def _record(self, piece_id: int, ticked: set[str], agent: str) -> Any:
        answer = answer_letter(self.ctx.store, lambda conn: letter_by_piece(conn, piece_id),
                               {k: True for k in ticked}, "phone", actor=agent)
        if answer is None:
            raise HTTPException(404)
        return answer


def routes(ctx: WebContext) -> list[BaseRoute]:
    desk = PhoneDesk(ctx)
    return [
        Route("/phone", desk.search, methods=["GET", "POST"]),
        Route("/phone/letters/{piece_id:int}", desk.letter, methods=["GET", "POST"]),
    ]
