"""Registering campaign files in the store and loading them back."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from mailing.clients import client_by_id, client_by_key, default_client
from mailing.config import Campaign, example_campaign_path, load_campaign, parse_campaign, read_assets
from mailing.errors import MailingError, NotFoundError
from mailing.store import Store, audit, campaigns, clients, recipients, utcnow
from mailing.store import new_id as _new_id


def register_campaign(store: Store, path: str | Path) -> tuple[Campaign, bool]:
    """Validate FILE and store it. Returns (campaign, created). Re-adding updates the stored text.

    The campaign belongs to the client its file names (`client = "KEY"`, which must exist), else to the
    store's default client. A campaign never moves to another client once registered: its customer ids and
    objections are that client's."""
    campaign = load_campaign(path)
    read_assets(campaign)  # a logo, signature or enclosure file it names must exist now, not at produce
    text = Path(path).read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    with store.begin() as conn:
        try:
            client = client_by_key(conn, campaign.client) if campaign.client else default_client(conn)
        except NotFoundError as exc:
            raise MailingError(f"{path}: {exc}") from None
        row = conn.execute(select(campaigns.c.id, campaigns.c.client_id)
                           .where(campaigns.c.name == campaign.name)).first()
        if row is None:
            cid = _new_id(conn.execute(insert(campaigns).values(
                name=campaign.name, source_file=str(Path(path).absolute()), config_toml=text,
                config_sha256=digest, client_id=client.id)))
            audit(conn, "campaign.add", "campaign", cid, f"{path} (client {client.key})")
            return campaign, True
        if row.client_id is not None and row.client_id != client.id:
            owner = client_by_id(conn, row.client_id)
            raise MailingError(f"{path}: campaign {campaign.name!r} belongs to client {owner.key!r}; a campaign "
                               f"never changes its client (write `client = \"{owner.key}\"` or give the "
                               "campaign a new name)")
        conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(
            source_file=str(Path(path).absolute()), config_toml=text, config_sha256=digest,
            updated_at=utcnow(), client_id=client.id))
        audit(conn, "campaign.update", "campaign", row.id, str(path))
        return campaign, False


def campaign_row(conn: Connection, name: str):  # type: ignore[no-untyped-def]
    row = conn.execute(select(campaigns).where(campaigns.c.name == name)).first()
    if row is None:
        known = [r.name for r in conn.execute(select(campaigns.c.name).order_by(campaigns.c.name))]
        hint = f"; known: {', '.join(known)}" if known else "; register it with `mailing campaign add FILE`"
        raise NotFoundError(f"no campaign named {name!r}{hint}")
    return row


def load(conn: Connection, name: str, client: str | None = None) -> tuple[int, Campaign]:
    """(campaign id, Campaign) from the text stored at registration. `client` (a key): the campaign must
    belong to that client (`--client KEY`); another client's campaign is not found."""
    row = campaign_row(conn, name)
    if client is not None and client_by_key(conn, client).id != row.client_id:
        raise NotFoundError(f"no campaign named {name!r} for client {client!r}; `mailing campaign list --client "
                            f"{client}` shows its campaigns")
    return row.id, parse_campaign(row.config_toml, row.source_file)


def load_by_id(conn: Connection, campaign_id: int) -> Campaign:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).one()
    return parse_campaign(row.config_toml, row.source_file)


def list_campaigns(conn: Connection, client_ids: Collection[int] | None = None) -> list[dict[str, object]]:
    """Every registered campaign, by name: name, title, client (its key), created, updated, source file,
    active recipients. `client_ids`: only the campaigns of these clients (None: all)."""
    n = (select(recipients.c.campaign_id, func.count().label("n")).where(recipients.c.active.is_(True))
         .group_by(recipients.c.campaign_id).subquery())
    stmt = (select(campaigns, clients.c.key.label("client"), func.coalesce(n.c.n, 0).label("recipients"))
            .select_from(campaigns.outerjoin(n, n.c.campaign_id == campaigns.c.id)
                         .outerjoin(clients, clients.c.id == campaigns.c.client_id))
            .order_by(campaigns.c.name))
    if client_ids is not None:
        stmt = stmt.where(campaigns.c.client_id.in_(list(client_ids)))
    return [{"name": r.name, "title": parse_campaign(r.config_toml, r.source_file).title, "client": r.client,
             "created": r.created_at.isoformat(timespec="seconds"),
             "updated": r.updated_at.isoformat(timespec="seconds"), "source_file": r.source_file,
             "recipients": int(r.recipients)} for r in conn.execute(stmt).all()]


def init_example(folder: str | Path) -> list[Path]:
    """Write DIR/campaign.toml, DIR/recipients.csv and an example DIR/logo.svg (the campaign's commented
    `logo` line names it), a working example. Never overwrites."""
    out = Path(folder)
    targets = [(example_campaign_path(), out / "campaign.toml"),
               (example_campaign_path().with_name("recipients.csv"), out / "recipients.csv"),
               (example_campaign_path().with_name("logo.svg"), out / "logo.svg")]  # for [letter] logo
    existing = [str(t) for _, t in targets if t.exists()]
    if existing:
        raise MailingError(f"{existing[0]} already exists; choose an empty folder or remove it first")
    out.mkdir(parents=True, exist_ok=True)
    for src, dst in targets:
        shutil.copyfile(src, dst)
    return [t for _, t in targets]
