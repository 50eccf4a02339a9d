"""The campaign page for admins: the `status` figures, the response curve, the waves, the Excel report.

An admin limited to some clients (`mailing user clients`) sees only their campaigns; another client's campaign
is "not found". Figures come from `mailing.figures` (the one module that counts; `status` and the report read it too); the
curve is `charts.response_curve`; the report is `reports.response.write_response_report`, written to a
temporary file and handed out as a download.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailing.campaigns import list_campaigns, load
from mailing.clients import Access, client_of_campaign
from mailing.config import Campaign
from mailing.errors import NotFoundError
from mailing.figures import CHANNELS, Figures, collect, status_json
from mailing.web.charts import response_curve
from mailing.web.context import WebContext
from mailing.web.security import require_user, user_access

CHANNEL_WORDS = {"paper": "Antwortkarte", "online": "online", "phone": "Telefon"}
WAVE_STATES = {"planned": "geplant", "produced": "gedruckt", "dropped": "versendet"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _visible_campaign(conn: Connection, name: str, access: Access) -> tuple[int, Campaign]:
    """The campaign `access` may see; another client's is answered as if it did not exist (404)."""
    try:
        cid, campaign = load(conn, name)
    except NotFoundError:
        raise HTTPException(404, "Diese Kampagne gibt es nicht.") from None
    if not access.sees(client_of_campaign(conn, cid)):
        raise HTTPException(404, "Diese Kampagne gibt es nicht.")
    return cid, campaign


def _figures(ctx: WebContext, name: str, access: Access) -> Figures:
    with ctx.store.connect() as conn:
        return collect(conn, *_visible_campaign(conn, name, access), detail=True)


def _check_access(ctx: WebContext, name: str, access: Access) -> None:
    with ctx.store.connect() as conn:
        _visible_campaign(conn, name, access)


def _curve(f: Figures) -> str:
    per_day = {day: sum(by_wave.values()) for day, by_wave in f.days.items()}
    drops = [w.drop_date for w in f.waves if w.is_sent and w.drop_date]
    return response_curve(per_day, min(drops) if drops else None, date.today())


class CampaignPages:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def _list(self, access: Access) -> list[dict[str, object]]:
        with self.ctx.store.connect() as conn:
            return list_campaigns(conn, access.client_ids)

    async def index(self, request: Request) -> Response:
        user = require_user(request, "admin")
        items = await run_in_threadpool(self._list, user_access(request, user))
        return self.ctx.templates.TemplateResponse(request, "campaigns.html", {"campaigns": items, "quote": quote})

    async def page(self, request: Request) -> Response:
        user = require_user(request, "admin")
        name = request.path_params["name"]
        f = await run_in_threadpool(_figures, self.ctx, name, user_access(request, user))
        st: dict[str, Any] = status_json(f)
        response = self.ctx.templates.TemplateResponse(request, "campaign.html", {
            "st": st, "title": f.campaign.title, "curve": Markup(_curve(f)),
            "channels": [(CHANNEL_WORDS[c], st["responses_by_channel"].get(c, 0)) for c in CHANNELS],
            "options": [(label, st["options"].get(key, 0)) for key, label in f.campaign.option_labels.items()],
            "wave_states": WAVE_STATES, "report_url": f"/campaigns/{quote(name, safe='')}/report.xlsx"})
        response.headers["Cache-Control"] = "no-store"
        return response

    async def report(self, request: Request) -> Response:
        user = require_user(request, "admin")
        name = request.path_params["name"]
        await run_in_threadpool(_check_access, self.ctx, name, user_access(request, user))
        data = await run_in_threadpool(self._report, name)
        filename = f"antwortbericht-{name}-{date.today().isoformat()}.xlsx"
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "Cache-Control": "no-store"})

    def _report(self, name: str) -> bytes:
        from reports.response import write_response_report

        with tempfile.TemporaryDirectory(prefix="mailing-report-") as tmp:
            out = Path(tmp) / "report.xlsx"
            try:
                write_response_report(self.ctx.store, name, out)
            except NotFoundError:
                raise HTTPException(404, "Diese Kampagne gibt es nicht.") from None
            return out.read_bytes()


def routes(ctx: WebContext) -> list[BaseRoute]:
    pages = CampaignPages(ctx)
    return [
        Route("/campaigns", pages.index, methods=["GET"]),
        Route("/campaigns/{name}/report.xlsx", pages.report, methods=["GET"]),
        Route("/campaigns/{name}", pages.page, methods=["GET"]),
    ]
