"""Security of the web front end: the store's secret, signed session cookies, logins, CSRF tokens, throttling.

- **Secret**: 32 random bytes (hex), made once per store and kept in its `meta` table under "secret", so
  every `mailing serve` process on one store (several behind one proxy) signs and checks alike.
- **Session cookie** (`SessionMiddleware`): a JSON object signed with the secret (itsdangerous), HttpOnly,
  SameSite=Lax, Secure when the request came over https (directly, or behind a reverse proxy by its
  `X-Forwarded-Proto: https`). It holds the CSRF nonce and, after a login, a random session token.
- **Logins** (`login`, `logout`, `current_user`, `require_user`): the session token's SHA-256 is a row of
  `web_sessions` in the store; logout ends that row, so a copied cookie replayed after logout logs nobody in.
  Sessions end after `SESSION_IDLE` without a request. Users and passwords are the review station's (made by
  `mailing user add`); this module only keeps who is logged in.
- **CSRF**: every form carries `csrf_token(request)` (a hidden field `csrf_token`); `check_csrf(request, form)`
  refuses a POST whose token is missing or not this session's with HTTP 403.
- **Headers** (`SecurityHeadersMiddleware`): every response forbids framing and MIME sniffing, sends no
  referrer (the answer page's URL holds a code) and limits scripts, styles and images to our own files
  (`CONTENT_SECURITY_POLICY`: a page's JavaScript lives in a file under static/, never inline).
- **Throttle**: `Throttle(limit, per_seconds)` counts events per client address (the proxy's
  X-Forwarded-For once uvicorn trusts it) in a sliding window; over the limit → HTTP 429.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import itsdangerous
from sqlalchemy import insert, select, update
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailing.clients import Access, access_for_user
from mailing.store import Store, new_id, utcnow, web_sessions
from mailing.store import store_secret as secret_of_store

SESSION_COOKIE = "mailing_session"
SESSION_MAX_AGE_S = 12 * 3600  # a signed cookie older than this is ignored (a working day and then some)
SESSION_IDLE = timedelta(hours=2)  # a login with no request for this long is over
LAST_SEEN_STEP = timedelta(minutes=5)  # last_seen is written at most this often (no write per request)
CSRF_FIELD = "csrf_token"


def store_secret(store: Store) -> str:
    """The store's secret (mailing.store.store_secret), made on first use: it signs the session cookies."""
    with store.begin() as conn:
        return secret_of_store(conn)


def is_https(conn: HTTPConnection) -> bool:
    """The client talks https to us or to the reverse proxy in front of us."""
    return conn.url.scheme == "https" or conn.headers.get("x-forwarded-proto", "").lower() == "https"


class SessionMiddleware:
    """`request.session` from a signed cookie; Secure decided per request (see the module docstring)."""

    def __init__(self, app: ASGIApp, secret: str, *, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret, salt="mailing.session")
        self.max_age_s = max_age_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        had_cookie = SESSION_COOKIE in conn.cookies
        scope["session"] = self._load(conn.cookies.get(SESSION_COOKIE, ""))
        secure = "; secure" if is_https(conn) else ""

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session = scope["session"]
                if session:
                    # base64: JSON holds ; , " and spaces, which end or break a cookie value
                    value = self.signer.sign(base64.urlsafe_b64encode(json.dumps(session).encode())).decode()
                    headers.append("set-cookie", f"{SESSION_COOKIE}={value}; path=/; max-age={self.max_age_s}; "
                                                 f"httponly; samesite=lax{secure}")
                elif had_cookie:
                    headers.append("set-cookie", f"{SESSION_COOKIE}=; path=/; max-age=0; "
                                                 f"expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, cookie: str) -> dict[str, Any]:
        if not cookie:
            return {}
        try:
            data = json.loads(base64.urlsafe_b64decode(self.signer.unsign(cookie, max_age=self.max_age_s)))
        except (itsdangerous.BadSignature, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name.decode(), value.decode())
            await send(message)

        await self.app(scope, receive, with_headers)


# --- CSRF --------------------------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """This session's CSRF token, for a hidden `csrf_token` field in every form (templates call it)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse (HTTP 403) a form without this session's CSRF token."""
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise HTTPException(403, "Das Formular ist abgelaufen oder kam nicht von dieser Seite. "
                                 "Bitte laden Sie die Seite neu und senden Sie es noch einmal.")


# --- logins ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionUser:
    """Who is logged in on this request."""

    name: str
    role: str  # operator | admin
    session_id: int  # web_sessions.id

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _store(request: HTTPConnection) -> Store:
    return request.app.state.ctx.store  # type: ignore[no-any-return]


def login(request: Request, name: str, role: str) -> SessionUser:
    """Start a login for `name` (the caller has checked the password): a new session token and CSRF nonce
    (nothing of a session before the login carries over)."""
    token = secrets.token_urlsafe(32)
    with _store(request).begin() as conn:
        sid = new_id(conn.execute(insert(web_sessions).values(token_sha256=_token_hash(token), user_name=name,
                                                              role=role)))
    request.session.clear()
    request.session["token"] = token
    request.session["csrf"] = secrets.token_urlsafe(32)
    return SessionUser(name, role, sid)


def logout(request: Request) -> None:
    """End this session's login in the store (a replayed cookie is refused from now on) and clear it."""
    token = request.session.get("token")
    if isinstance(token, str):
        with _store(request).begin() as conn:
            conn.execute(update(web_sessions).where(web_sessions.c.token_sha256 == _token_hash(token),
                                                    web_sessions.c.ended_at.is_(None)).values(ended_at=utcnow()))
    request.session.clear()


def current_user(request: HTTPConnection) -> SessionUser | None:
    """The logged-in user of this request, or None (no login, logged out, or idle too long)."""
    token = request.session.get("token")
    if not isinstance(token, str):
        return None
    now = utcnow()
    ws = web_sessions.c
    store = _store(request)
    with store.connect() as conn:
        row = conn.execute(select(ws.id, ws.user_name, ws.role, ws.last_seen, ws.ended_at)
                           .where(ws.token_sha256 == _token_hash(token))).first()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen > SESSION_IDLE:
        with store.begin() as conn:
            conn.execute(update(web_sessions).where(ws.id == row.id).values(ended_at=now))
        return None
    if now - row.last_seen > LAST_SEEN_STEP:
        with store.begin() as conn:
            conn.execute(update(web_sessions).where(ws.id == row.id).values(last_seen=now))
    return SessionUser(row.user_name, row.role, row.id)


def require_user(request: HTTPConnection, role: str | None = None) -> SessionUser:
    """The logged-in user; otherwise a redirect to the login page (303) that comes back here afterwards.
    `role="admin"`: operators are refused with 403."""
    user = current_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": f"/login?next={quote(target, safe='/')}"})
    if role == "admin" and not user.is_admin:
        raise HTTPException(403, "Diese Seite ist nur für Administratoren.")
    return user


def user_access(request: HTTPConnection, user: SessionUser) -> Access:
    """The clients `user` may see (mailing/clients.py), read from the store at every request, so that a
    change (`mailing user clients`) takes effect at their next page."""
    with _store(request).connect() as conn:
        return access_for_user(conn, user.name)


# --- throttling --------------------------------------------------------------------------------------------

def client_key(request: HTTPConnection) -> str:
    """The client's address (behind a trusted proxy: the address it forwarded)."""
    return request.client.host if request.client else "unknown"


class Throttle:
    """At most `limit` events per client in any `per_seconds` window; beyond that, HTTP 429.

    `check(request)` refuses a client that is over the limit (call it first, before any lookup, so that a
    throttled client learns nothing); `hit(request)` counts one event. In memory, per process.
    """

    MAX_CLIENTS = 100_000  # bounded memory: the oldest clients are forgotten beyond this

    def __init__(self, limit: int, per_seconds: float) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self.MAX_CLIENTS:
                self._forget(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.per_seconds:
            events.popleft()
        return events

    def _forget(self, now: float) -> None:
        stale = [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.per_seconds]
        for k in stale:
            del self._events[k]
        while len(self._events) >= self.MAX_CLIENTS:
            del self._events[next(iter(self._events))]

    def blocked(self, request: HTTPConnection) -> bool:
        with self._lock:
            return len(self._window(client_key(request), time.monotonic())) >= self.limit

    def check(self, request: HTTPConnection) -> None:
        if self.blocked(request):
            raise HTTPException(429, "Zu viele Versuche. Bitte warten Sie eine Minute und versuchen Sie es dann "
                                     "noch einmal.", headers={"Retry-After": str(int(self.per_seconds))})

    def hit(self, request: HTTPConnection) -> None:
        with self._lock:
            self._window(client_key(request), time.monotonic()).append(time.monotonic())
