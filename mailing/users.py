"""Users of the web front end and their logins.

A user has a name, a role (``operator``: the review station and the phone desk; ``admin``: also the
campaign pages) and a password kept only as an argon2id hash. Who is logged in where is the web's business
(mailing/web/security.py); nothing here knows about HTTP.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from mailing.errors import MailingError
from mailing.store import Store, audit, new_id, users

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

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise MailingError(f"password too short ({len(password)} characters): use at least {MIN_PASSWORD_LENGTH}")
    if password != password.strip():
        raise MailingError("password starts or ends with a space: leave those out")


def add_user(store: Store, name: str, role: str, password: str, actor: str | None = None) -> User:
    """A new user; a name already taken, an unknown role or a short password is refused."""
    if not _NAME.fullmatch(name):
        raise MailingError(f"user name {name!r}: use letters, digits and . _ @ - (at most 100, no spaces)")
    if role not in ROLES:
        raise MailingError(f"role {role!r}: use one of {', '.join(ROLES)}")
    check_password_rules(password)
    digest = _hasher.hash(password)
    try:
        with store.begin() as conn:
            user_id = new_id(conn.execute(insert(users).values(name=name, role=role, password_hash=digest)))
            audit(conn, "user.add", "user", user_id, f"{name} ({role})", actor=actor)
    except IntegrityError:
        raise MailingError(f"user {name!r} already exists; choose another name") from None
    return User(user_id, name, role)


def list_users(store: Store) -> list[User]:
    with store.connect() as conn:
        return [User(r.id, r.name, r.role) for r in conn.execute(select(users).order_by(users.c.name))]


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
