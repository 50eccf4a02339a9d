"""`mailing status`: one campaign's figures (`mailing.figures`), as `status --json` prints them."""

from __future__ import annotations

from typing import Any

from mailing.campaigns import load
from mailing.clients import client_by_id, client_of_campaign
from mailing.figures import collect, status_json
from mailing.store import Store


def campaign_status(store: Store, name: str, client: str | None = None) -> dict[str, Any]:
    """The contract's fields (DESIGN.md: campaign, recipients, suppressed, pieces, sent, responses, duplicates,
    undeliverable, review_open, options, waves) and more, with the campaign's `client` (its key); see
    `mailing.figures.status_json`. `client`: the campaign must belong to that client."""
    with store.connect() as conn:
        cid, campaign = load(conn, name, client)
        figures = collect(conn, cid, campaign, detail=False)
        owner = client_by_id(conn, client_of_campaign(conn, cid)).key
    return {**status_json(figures), "client": owner}
