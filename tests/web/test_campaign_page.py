"""The campaign page for admins: figures, the response curve, the waves, the Excel report."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from openpyxl import load_workbook

from mailing.store import Store
from mailing.web.charts import response_curve
from tests.web.conftest import CAMPAIGN, staff_client
from tests.web.test_answer import answer


def test_campaign_page_shows_figures_channels_curve_and_waves(client, web_store: Store, letters) -> None:
    answer(client, letters[0]["code"], "info")
    answer(client, letters[1]["code"], "call")
    with staff_client(web_store, "admin") as c:
        index = c.get("/campaigns")
        assert index.status_code == 200 and f'/campaigns/{CAMPAIGN}"' in index.text
        page = c.get(f"/campaigns/{CAMPAIGN}")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and "<polyline" in text and "Antworten insgesamt (2)" in text
    assert "Antworten nach Weg" in text and "Welle" in text and "versendet" in text
    assert "/report.xlsx" in text
    assert "<script" not in text  # no JavaScript library: the curve is drawn on the server


def test_campaign_report_downloads_as_excel_with_responses_by_channel(client, web_store: Store, letters) -> None:
    answer(client, letters[0]["code"], "info")
    with staff_client(web_store, "admin") as c:
        res = c.get(f"/campaigns/{CAMPAIGN}/report.xlsx")
    assert res.status_code == 200 and res.content[:2] == b"PK"
    assert "attachment" in res.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(res.content), read_only=True)
    cells = [str(c) for row in wb["Übersicht"].iter_rows(values_only=True) for c in row if c is not None]
    i = cells.index("davon im Internet")
    assert cells[i + 1] == "1"


def test_campaign_page_is_for_admins_only(client, web_store: Store) -> None:
    assert client.get(f"/campaigns/{CAMPAIGN}", follow_redirects=False).status_code == 303
    assert client.get(f"/campaigns/{CAMPAIGN}/report.xlsx", follow_redirects=False).status_code == 303
    with staff_client(web_store, "operator") as c:
        assert c.get(f"/campaigns/{CAMPAIGN}").status_code == 403
        assert c.get(f"/campaigns/{CAMPAIGN}/report.xlsx").status_code == 403
    with staff_client(web_store, "admin") as c:
        assert c.get("/campaigns/nope").status_code == 404


def test_response_curve_is_well_formed_svg_without_responses_and_with_them() -> None:
    from datetime import date

    for per_day in ({}, {date(2026, 3, 4): 3, date(2026, 3, 9): 1}):
        svg = response_curve(per_day, date(2026, 3, 2), date(2026, 3, 30), title="A & B")
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
    assert "Antworten insgesamt (4)" in svg
