"""`mailing status`: one campaign's counts, as `status --json` prints them (the contract's fields)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.engine import Connection

from mailing.campaigns import load
from mailing.store import (
    Store,
    followups,
    imports,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scans,
    waves,
)


def campaign_status(store: Store, name: str) -> dict[str, Any]:
    from mailing.suppression import suppressed_recipients

    with store.connect() as conn:
        cid, campaign = load(conn, name)
        campaign_pieces = select(pieces.c.id).join(waves, waves.c.id == pieces.c.wave_id).where(
            waves.c.campaign_id == cid)
        n_recipients = _count(conn, select(func.count()).select_from(recipients).where(
            recipients.c.campaign_id == cid, recipients.c.active.is_(True)))
        wave_rows = conn.execute(
            select(waves.c.number, waves.c.kind, waves.c.status, waves.c.drop_date, waves.c.suppressed,
                   func.count(pieces.c.id).label("pieces"),
                   func.coalesce(func.sum(cast(pieces.c.control, Integer)), 0).label("control"))
            .select_from(waves.outerjoin(pieces, pieces.c.wave_id == waves.c.id))
            .where(waves.c.campaign_id == cid).group_by(waves.c.id).order_by(waves.c.number)).all()
        sent = _count(conn, select(func.count()).select_from(pieces).where(
            pieces.c.id.in_(campaign_pieces), pieces.c.control.is_(False)))
        n_responses = _count(conn, select(func.count()).select_from(responses).where(
            responses.c.piece_id.in_(campaign_pieces)))
        duplicates = _count(conn, select(func.count()).select_from(scans).where(
            scans.c.status == "duplicate", scans.c.piece_id.in_(campaign_pieces)))
        undeliverable = _count(conn, select(func.count()).select_from(pieces).where(
            pieces.c.id.in_(campaign_pieces), pieces.c.undeliverable.is_(True)))
        review_campaign = _count(conn, select(func.count()).select_from(
            review_items.join(scans, scans.c.id == review_items.c.scan_id)).where(
            review_items.c.status == "open", scans.c.piece_id.in_(campaign_pieces)))
        review_unassigned = _count(conn, select(func.count()).select_from(
            review_items.join(scans, scans.c.id == review_items.c.scan_id)).where(
            review_items.c.status == "open", scans.c.piece_id.is_(None)))
        ticked: dict[str, int] = dict(conn.execute(
            select(response_options.c.key, func.count())
            .join(responses, responses.c.id == response_options.c.response_id)
            .where(responses.c.piece_id.in_(campaign_pieces), response_options.c.ticked.is_(True))
            .group_by(response_options.c.key)).all())
        pending: dict[str, int] = dict(conn.execute(
            select(followups.c.rule, func.count()).where(
                followups.c.campaign_id == cid, followups.c.status == "pending").group_by(followups.c.rule)).all())
        dup = conn.execute(select(func.coalesce(func.sum(imports.c.duplicates), 0),
                                  func.coalesce(func.sum(imports.c.merged), 0))
                           .where(imports.c.campaign_id == cid)).one()
        suppressed = len(suppressed_recipients(conn, cid))
    return {
        "campaign": campaign.name,
        "recipients": n_recipients,
        "suppressed": suppressed,
        "pieces": sent,
        "responses": n_responses,
        "response_rate": round(n_responses / sent, 4) if sent else 0.0,
        "duplicates": duplicates,
        "undeliverable": undeliverable,
        "review_open": review_campaign + review_unassigned,
        "review_open_unassigned": review_unassigned,
        "options": {k: int(ticked.get(k, 0)) for k in campaign.option_keys},
        "waves": [{"wave": w.number, "kind": w.kind, "pieces": int(w.pieces) - int(w.control),
                   "control": int(w.control), "status": w.status,
                   "drop_date": w.drop_date.isoformat() if w.drop_date else None, "suppressed": w.suppressed}
                  for w in wave_rows],
        "followups_waiting": {k: int(v) for k, v in pending.items()},
        "import_duplicates": {"found": int(dup[0]), "merged": int(dup[1])},
    }


def _count(conn: Connection, stmt: Any) -> int:
    return int(conn.execute(stmt).scalar_one())

