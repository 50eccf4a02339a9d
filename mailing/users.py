"""Users of the web front end and their logins.

A user has a name, a role (``operator``: the review station and the phone desk; ``admin``: also the
campaign pages), a password kept only as an argon2id hash, and the clients (Mandanten) they may see
(`user_clients`; none listed: every client, see mailing/clients.py `access_for_user`). Who is logged in where is the web's business
(mailing/web/security.py); nothing here knows about HTTP.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mailing.errors import MailingError
from mailing.store import Store, audit, clients, new_id, user_clients, users

ROLES = ("operator", "admin")
MIN_PASSWORD_LENGTH = 10  # long enough that the login throttle makes guessing hopeless
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters (RFC 9106, low-memory)
# Verified for an unknown name, so that a login takes as long whether or not the name exists.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    clients: tuple[str, ...] = ()  # keys of the clients they may see; () = every client

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise MailingError(f"password too short ({len(password)} characters): use at least {MIN_PASSWORD_LENGTH}")
    if password != password.strip():
        raise MailingError("password starts or ends with a space: leave those out")


def add_user(store: Store, name: str, role: str, password: str, actor: str | None = None,
             clients: Sequence[str] = ()) -> User:
    """A new user; a name already taken, an unknown role or a short password is refused. `clients`: the keys
    of the clients they may see (none: every client)."""
    if not _NAME.fullmatch(name):
        raise MailingError(f"user name {name!r}: use letters, digits and . _ @ - (at most 100, no spaces)")
    if role not in ROLES:
        raise MailingError(f"role {role!r}: use one of {', '.join(ROLES)}")
    check_password_rules(password)
    digest = _hasher.hash(password)
    try:
        with store.begin() as conn:
            ids = _client_ids(conn, clients)
            user_id = new_id(conn.execute(insert(users).values(name=name, role=role, password_hash=digest)))
            if ids:
                conn.execute(insert(user_clients), [{"user_id": user_id, "client_id": c} for c in ids])
            audit(conn, "user.add", "user", user_id, f"{name} ({role}; clients: {', '.join(clients) or 'all'})",
                  actor=actor)
    except IntegrityError:
        raise MailingError(f"user {name!r} already exists; choose another name") from None
    return User(user_id, name, role, tuple(sorted(set(clients))))


def _client_ids(conn: Connection, keys: Sequence[str]) -> list[int]:
    from mailing.clients import client_by_key

    return sorted({client_by_key(conn, k).id for k in keys})


def set_user_clients(store: Store, name: str, keys: Sequence[str], actor: str | None = None) -> User:
    """The clients user NAME may see from now on (no keys: every client); takes effect at their next page."""
    with store.begin() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            raise MailingError(f"no user {name!r}; `mailing user list` shows the users")
        ids = _client_ids(conn, keys)
        conn.execute(delete(user_clients).where(user_clients.c.user_id == row.id))
        if ids:
            conn.execute(insert(user_clients), [{"user_id": row.id, "client_id": c} for c in ids])
        audit(conn, "user.clients", "user", row.id, f"{name}: clients {', '.join(sorted(set(keys))) or 'all'}",
              actor=actor)
    return User(int(row.id), row.name, row.role, tuple(sorted(set(keys))))


def list_users(store: Store) -> list[User]:
    with store.connect() as conn:
        keys: dict[int, list[str]] = {}
        for uid, key in conn.execute(select(user_clients.c.user_id, clients.c.key)
                                     .join(clients, clients.c.id == user_clients.c.client_id).order_by(clients.c.key)):
            keys.setdefault(int(uid), []).append(key)
        return [User(r.id, r.name, r.role, tuple(keys.get(int(r.id), ())))
                for r in conn.execute(select(users).order_by(users.c.name))]


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The user when name and password match, else None (the same time either way)."""
    with store.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    digest = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(digest):  # parameters raised since the password was set
        with store.begin() as conn:
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password)))
    return User(row.id, row.name, row.role)
