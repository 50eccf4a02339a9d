"""What every route module of the web application is given: the store, the store's secret, the templates."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.templating import Jinja2Templates

from mailing.store import Store


@dataclass
class WebContext:
    """Handed to each route module's `routes(ctx)`; also at `request.app.state.ctx`."""

    store: Store
    secret: str  # hex; signs session cookies (see security.store_secret)
    templates: Jinja2Templates
