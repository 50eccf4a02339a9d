"""`mailing status`: one campaign's figures (`mailing.figures`), as `status --json` prints them."""

from __future__ import annotations

from typing import Any

from mailing.campaigns import load
from mailing.figures import collect, status_json
from mailing.store import Store


def campaign_status(store: Store, name: str) -> dict[str, Any]:
    """The contract's fields (DESIGN.md: campaign, recipients, suppressed, pieces, sent, responses, duplicates,
    undeliverable, review_open, options, waves) and more; see `mailing.figures.status_json`."""
    with store.connect() as conn:
        cid, campaign = load(conn, name)
        figures = collect(conn, cid, campaign, detail=False)
    return status_json(figures)
