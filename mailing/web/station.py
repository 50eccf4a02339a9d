"""The review station (`/review`) and the staff login (`/login`, `/logout`).

An operator logs in with a user made by `mailing user add`; the station then holds the next open review item
for them (`review.claim_next`: nobody else gets it while they look), shows its picture large, what the scanner
read and why that was not enough, and takes the decision from the keyboard (static/review.js): the typed code
(its check symbol checked as it is typed, then `/review/check` names the coupon's options), 1-5 for the ticks,
Enter to confirm, V to void, N to skip. Decisions go through the library (`resolve_code`, `set_boxes`,
`void`), so the same rules hold as on the command line (objections at once, items close), and every one is in
the audit log under the operator's name.

An operator sees only the items of the clients they may see (`mailing user clients`; mailing/review.py says
which items belong to whom); any other item is "not found" for them, its picture included.

Skipped items are remembered in the session (so the operator is not shown them again) and released at once,
so a colleague can take them.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from mailing import codes
from mailing.errors import MailingError, NotFoundError
from mailing.review import (
    HeldError,
    box_picture,
    check_code,
    claim_next,
    get_item,
    item_picture,
    open_count,
    picture_suffix,
    release,
    release_all,
    resolve_code,
    set_boxes,
    void,
)
from mailing.store import Store, audit
from mailing.users import authenticate
from mailing.web.context import WebContext
from mailing.web.security import (
    SessionUser,
    Throttle,
    check_csrf,
    current_user,
    login,
    logout,
    require_user,
    user_access,
)

LOGIN_ATTEMPTS = 10  # failed logins per client and window: plenty for typos, hopeless for guessing
LOGIN_WINDOW_S = 300
MAX_SKIPS = 200  # skipped ids kept in the (cookie) session
CODE_KINDS = ("unreadable", "invalid", "unknown")

KIND_TEXT = {
    "unreadable": "Kein Code gelesen",
    "invalid": "Prüfzeichen falsch",
    "unknown": "Code unbekannt",
    "doubtful": "Kreuz unsicher",
    "conflict": "Kreuze widersprechen sich",
}
REASON_TEXT = {
    "no code found": "kein Code auf der Seite gefunden",
    "blank page": "leere Seite",
    "check symbol wrong": "Prüfzeichen stimmt nicht",
    "no such code": "diesen Code gibt es nicht",
    "corrupt file": "Datei beschädigt",
}
ACTION_TEXT = {"matched": "Antwort erfasst", "duplicate": "schon beantwortet (Duplikat)",
               "returned": "als unzustellbar erfasst"}


def routes(ctx: WebContext) -> list[Route]:
    station = Station(ctx.store, ctx.templates)
    return [
        Route("/login", station.login_page, methods=["GET", "POST"]),
        Route("/logout", station.logout, methods=["POST"]),
        Route("/review", station.queue, methods=["GET"]),
        Route("/review/again", station.again, methods=["POST"]),
        Route("/review/check", station.check, methods=["GET"]),
        Route("/review/items/{item_id:int}", station.decide, methods=["POST"]),
        Route("/review/items/{item_id:int}/picture", station.picture, methods=["GET"]),
        Route("/review/items/{item_id:int}/box/{key:str}", station.box, methods=["GET"]),
    ]


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no `//host`, no scheme) is followed after a login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"


def _values(form: FormData, keys: list[str]) -> dict[str, bool]:
    """Checkboxes `opt_KEY` → {key: ticked} for every option key of the coupon."""
    return {k: form.get(f"opt_{k}") == "on" for k in keys}


class Station:
    def __init__(self, store: Store, templates: Jinja2Templates) -> None:
        self.store = store
        self.templates = templates
        self.logins = Throttle(LOGIN_ATTEMPTS, LOGIN_WINDOW_S)

    # -------------------------------------------------------------------------------------------- login
    async def login_page(self, request: Request) -> Response:
        target = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self._login_form(request, target)
        self.logins.check(request)  # before anything is looked up
        form = await request.form()
        check_csrf(request, form)
        name = str(form.get("name", "")).strip()
        password = str(form.get("password", ""))
        # argon2 takes a good fraction of a second on purpose: off the event loop, so other pages keep going
        user = await run_in_threadpool(authenticate, self.store, name, password) if name and password else None
        if user is None:
            self.logins.hit(request)
            return self._login_form(request, target, "Name oder Passwort ist falsch.", name, status=401)
        login(request, user.name, user.role)
        with self.store.begin() as conn:
            audit(conn, "user.login", "user", user.id, "", actor=user.name)
        return RedirectResponse(_safe_next(str(form.get("next", "")) or target), status_code=303)

    def _login_form(self, request: Request, target: str, error: str = "", name: str = "",
                    status: int = 200) -> Response:
        return self.templates.TemplateResponse(request, "review/login.html",
                                               {"next": target, "error": error, "name": name}, status_code=status)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        user = current_user(request)
        if user is not None:
            release_all(self.store, user.name)
            with self.store.begin() as conn:
                audit(conn, "user.logout", "user", None, "", actor=user.name)
        logout(request)
        return RedirectResponse("/login", status_code=303)

    # -------------------------------------------------------------------------------------------- queue
    def _skips(self, request: Request) -> list[int]:
        value = request.session.get("skip", [])
        return [int(v) for v in value if isinstance(v, int)] if isinstance(value, list) else []

    async def queue(self, request: Request) -> Response:
        user = require_user(request)
        access = user_access(request, user)
        skips = self._skips(request)
        item_id = claim_next(self.store, user.name, skip=skips, access=access)
        flash = request.session.pop("flash", None)
        if item_id is None:
            return self.templates.TemplateResponse(request, "review/empty.html", {
                "skipped": len(skips), "open": open_count(self.store, access), "flash": flash})
        return self._item_page(request, user, item_id, flash=flash)

    def _item_page(self, request: Request, user: SessionUser, item_id: int, flash: Any = None,
                   error: str = "", typed: str = "", status: int = 200) -> Response:
        access = user_access(request, user)
        item = get_item(self.store, item_id, access)
        read = item.code or ""
        return self.templates.TemplateResponse(request, "review/item.html", {
            "item": item, "kind_text": KIND_TEXT.get(item.kind, item.kind),
            "reason_text": REASON_TEXT.get(item.reason or "", item.reason or ""),
            "needs_code": item.kind in CODE_KINDS, "typed": typed or read,
            "read": codes.format_code(read) if read and len(read) == codes.CODE_LENGTH else read,
            "open": open_count(self.store, access), "flash": flash, "error": error,
            "keys": list(item.option_labels) or list(item.marks),
        }, status_code=status)

    async def again(self, request: Request) -> Response:
        require_user(request)
        check_csrf(request, await request.form())
        request.session["skip"] = []
        return RedirectResponse("/review", status_code=303)

    async def check(self, request: Request) -> Response:
        """The typed code: normalised, check symbol right?, and the coupon's options when it names a piece."""
        user = require_user(request)
        found = check_code(self.store, request.query_params.get("code", ""), user_access(request, user))
        return JSONResponse({"code": found.code, "valid": found.valid, "reason": found.reason,
                             "campaign": found.campaign, "options": found.options},
                            headers={"Cache-Control": "no-store"})

    # ----------------------------------------------------------------------------------------- decisions
    async def decide(self, request: Request) -> Response:
        user = require_user(request)
        form = await request.form()
        check_csrf(request, form)
        item_id = int(request.path_params["item_id"])
        action = str(form.get("action", ""))
        typed = str(form.get("code", "")).strip()
        access = user_access(request, user)
        try:
            item = get_item(self.store, item_id, access)
        except NotFoundError:
            raise HTTPException(404, "Diesen Prüfposten gibt es nicht.") from None
        try:
            if action == "skip":
                release(self.store, item_id, user.name)
                request.session["skip"] = (self._skips(request) + [item_id])[-MAX_SKIPS:]
                request.session["flash"] = f"Posten {item_id} übersprungen."
            elif action == "void":
                void(self.store, item_id, note=f"voided at the review station by {user.name}", actor=user.name,
                     access=access)
                request.session["flash"] = f"Posten {item_id} verworfen."
            elif action == "confirm" and item.kind in CODE_KINDS:
                keys = check_code(self.store, typed, access).options
                outcome = resolve_code(self.store, item_id, typed, _values(form, list(keys)), actor=user.name,
                                       access=access)
                request.session["flash"] = f"Posten {item_id}: {ACTION_TEXT.get(outcome, outcome)}."
            elif action == "confirm":
                after = set_boxes(self.store, item_id, _values(form, list(item.options)), actor=user.name,
                                  access=access)
                still = [k for k, v in after.items() if v is None]
                request.session["flash"] = (f"Posten {item_id}: Kreuze gesetzt." if not still else
                                            f"Posten {item_id}: noch offen: {', '.join(still)}.")
            else:
                raise HTTPException(400, "Unbekannte Aktion.")
        except MailingError as exc:
            if isinstance(exc, HeldError) or get_item(self.store, item_id, access).status != "open":
                # my hold ran out and a colleague took the item, or someone closed it meanwhile
                request.session["flash"] = str(exc)
                return RedirectResponse("/review", status_code=303)
            return self._item_page(request, user, item_id, error=str(exc), typed=typed, status=409)
        return RedirectResponse("/review", status_code=303)

    # ------------------------------------------------------------------------------------------ pictures
    async def picture(self, request: Request) -> Response:
        user = require_user(request)
        data = item_picture(self.store, int(request.path_params["item_id"]), user_access(request, user))
        return self._image(data)

    async def box(self, request: Request) -> Response:
        user = require_user(request)
        data = box_picture(self.store, int(request.path_params["item_id"]), str(request.path_params["key"]),
                           user_access(request, user))
        return self._image(data)

    @staticmethod
    def _image(data: bytes | None) -> Response:
        if not data:
            raise HTTPException(404, "Kein Bild gespeichert.")
        media = "image/jpeg" if picture_suffix(data) == ".jpg" else "image/png"
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=300"})

