"""Clients (Mandanten): the companies an agency or lettershop runs campaigns for, all in one store.

A client is a record with a short key (used on the command line and in campaign.toml: `client = "gartenwelt"`)
and a display name. Every campaign belongs to one client; a campaign file without `client` belongs to the
store's default client (`default`), so campaign files written before clients existed keep working. What
belongs to a client (see docs/clients.md):

- customer ids: unique per client, not store-wide; they are matched only within the campaign's client
  (import, `import --from`, `person export|erase`, contact cap, consent withdrawal, suppression);
- objections (opt-outs): bind the client they were given to; Robinson, undeliverable, deceased and erased
  entries bind every client (mailing/suppression.py);
- web users: may be limited to some clients (`user_clients`); a user without such rows sees every client.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mailing.config import CLIENT_KEY
from mailing.errors import MailingError, NotFoundError
from mailing.store import (
    DEFAULT_CLIENT,
    DEFAULT_CLIENT_NAME,
    Store,
    audit,
    campaigns,
    clients,
    new_id,
    pieces,
    user_clients,
    users,
    waves,
)

KEY_PATTERN = CLIENT_KEY
KEY_RULE = "lower-case letters, digits, - and _ (at most 50, starting with a letter or digit)"


@dataclass(frozen=True)
class Client:
    id: int
    key: str
    name: str


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise MailingError(f"client key {key!r}: use {KEY_RULE}, e.g. gartenwelt")
    return key


def add_client(store: Store, key: str, name: str | None = None) -> Client:
    """A new client; a key already taken is refused. The display name defaults to the key."""
    check_key(key)
    display = " ".join((name or key).split())
    if not display or len(display) > 200:
        raise MailingError(f"client {key}: the name must be 1 to 200 characters")
    try:
        with store.begin() as conn:
            cid = new_id(conn.execute(insert(clients).values(key=key, name=display)))
            audit(conn, "client.add", "client", cid, f"{key} ({display})")
    except IntegrityError:
        raise MailingError(f"client {key!r} already exists; `mailing client list` shows the clients") from None
    return Client(cid, key, display)


def list_clients(conn: Connection) -> list[dict[str, object]]:
    """Every client, by key: key, name, created, default (bool), campaigns."""
    n = (select(campaigns.c.client_id, func.count().label("n")).group_by(campaigns.c.client_id).subquery())
    rows = conn.execute(select(clients, func.coalesce(n.c.n, 0).label("campaigns"))
                        .select_from(clients.outerjoin(n, n.c.client_id == clients.c.id))
                        .order_by(clients.c.key)).all()
    return [{"key": r.key, "name": r.name, "created": r.created_at.isoformat(timespec="seconds"),
             "default": r.key == DEFAULT_CLIENT, "campaigns": int(r.campaigns)} for r in rows]


def _known(conn: Connection) -> str:
    keys = [r.key for r in conn.execute(select(clients.c.key).order_by(clients.c.key))]
    return ", ".join(keys) if keys else "none"


def client_by_key(conn: Connection, key: str) -> Client:
    """The client named KEY; an unknown key names the known ones and how to add one."""
    row = conn.execute(select(clients).where(clients.c.key == key)).first()
    if row is None:
        raise NotFoundError(f"no client {key!r} (known: {_known(conn)}); add it with "
                            f"`mailing client add {key} --name \"...\"`")
    return Client(int(row.id), row.key, row.name)


def client_by_id(conn: Connection, client_id: int) -> Client:
    row = conn.execute(select(clients).where(clients.c.id == client_id)).one()
    return Client(int(row.id), row.key, row.name)


def default_client(conn: Connection) -> Client:
    """The store's default client (every store has it; made again here if someone removed it by hand)."""
    row = conn.execute(select(clients).where(clients.c.key == DEFAULT_CLIENT)).first()
    if row is None:
        cid = new_id(conn.execute(insert(clients).values(key=DEFAULT_CLIENT, name=DEFAULT_CLIENT_NAME)))
        return Client(cid, DEFAULT_CLIENT, DEFAULT_CLIENT_NAME)
    return Client(int(row.id), row.key, row.name)


def client_of_campaign(conn: Connection, campaign_id: int) -> int:
    """The id of the client a campaign belongs to (the default client for a campaign without one)."""
    value = conn.execute(select(campaigns.c.client_id).where(campaigns.c.id == campaign_id)).scalar()
    return int(value) if value is not None else default_client(conn).id


def client_of_piece(conn: Connection, piece_id: int) -> int | None:
    """The id of the client whose letter a piece is (None: no such piece)."""
    return conn.execute(select(campaigns.c.client_id).select_from(
        pieces.join(waves, waves.c.id == pieces.c.wave_id).join(campaigns, campaigns.c.id == waves.c.campaign_id))
        .where(pieces.c.id == piece_id)).scalar()


def client_filter(conn: Connection, key: str | None) -> int | None:
    """`--client KEY` → the client's id; None (no option) → no limit."""
    return None if key is None else client_by_key(conn, key).id


def campaign_in_client(conn: Connection, campaign_id: int, campaign_name: str, client_id: int | None) -> None:
    """`--client KEY` with a campaign of another client: refused in one line (never shown as if empty)."""
    if client_id is not None and client_of_campaign(conn, campaign_id) != client_id:
        owner = client_by_id(conn, client_of_campaign(conn, campaign_id))
        raise NotFoundError(f"campaign {campaign_name!r} belongs to client {owner.key!r}, not to the one named "
                            "with --client")


def client_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(clients)).scalar_one())


# ------------------------------------------------------------------------------------------------ access
@dataclass(frozen=True)
class Access:
    """What someone may see: the clients (None: every client), and whether that is every client of the store,
    which alone opens what belongs to no known client yet (a page without a readable code may be any
    client's coupon, with a person's name on it)."""

    client_ids: frozenset[int] | None = None
    all_clients: bool = True

    def sees(self, client_id: int | None) -> bool:
        if client_id is None:
            return self.all_clients
        return self.client_ids is None or client_id in self.client_ids


EVERYTHING = Access()


def _access(conn: Connection, ids: set[int]) -> Access:
    every = {int(x) for x in conn.execute(select(clients.c.id)).scalars()}
    return Access(frozenset(ids), every <= ids)


def access_for_key(conn: Connection, key: str | None) -> Access:
    """`--client KEY` on the command line (None: everything)."""
    return EVERYTHING if key is None else _access(conn, {client_by_key(conn, key).id})


def user_client_ids(conn: Connection, user_id: int) -> set[int]:
    return {int(x) for x in conn.execute(select(user_clients.c.client_id)
                                         .where(user_clients.c.user_id == user_id)).scalars()}


def access_for_user(conn: Connection, user_name: str) -> Access:
    """A web user's access, read at every request (a change takes effect at once): the clients listed for
    them; a user with none listed sees every client."""
    ids = {int(x) for x in conn.execute(select(user_clients.c.client_id).join(users, users.c.id == user_clients.c.user_id)
                                        .where(users.c.name == user_name)).scalars()}
    return EVERYTHING if not ids else _access(conn, ids)
