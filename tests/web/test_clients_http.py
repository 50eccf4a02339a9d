"""Clients in the web (issue 13, item 6), over real HTTP: `mailing serve` in a subprocess, a browser-like
client with login, CSRF tokens and cookies. An operator of client gartenwelt neither sees nor resolves an item
of client moebel (its picture, its code, its letter at the phone desk, its campaign page are "not found"),
while moebel's operator does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mailing import codes
from mailing.matching import Matcher
from mailing.review import get_item, open_items
from mailing.store import waves
from mailing.users import add_user
from scanning.results import BoxReading, CouponReading, PageReading
from tests.mailing.two_clients import CAMPAIGN_A, CAMPAIGN_B, A, B, code_of, make_two_clients
from tests.web.station_queue import own_schema
from tests.web.test_serve import free_port

PASSWORD = "richtig-geheim-42"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, int], str, str]]:
    """(base URL, review item ids {"moebel": doubtful item of moebel's letter, "unknown": a blank page},
    moebel's code, the store) of a server over a two-client store, on SQLite and (with
    MAILING_TEST_POSTGRES) on PostgreSQL in a schema of its own."""
    url = None
    if request.param == "postgresql":
        if not os.environ.get("MAILING_TEST_POSTGRES"):
            pytest.skip("set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
        url = own_schema(os.environ["MAILING_TEST_POSTGRES"], "clients_http")
    two = make_two_clients(tmp_path, url=url)
    code_b = code_of(two.store, CAMPAIGN_B, "K-1001")
    coupon = CouponReading(payload=code_b, code=code_b, check_ok=True, decoder="test", registered=True,
                           boxes=(BoxReading(0, 0.2, "doubtful"), BoxReading(1, 0.0, "empty"),
                                  BoxReading(2, 0.0, "empty")), snippet_png=b"\x89PNG-test")
    with two.store.begin() as conn:
        conn.execute(waves.update().values(status="produced"))  # sent: the phone desk finds the letters
        Matcher().record(conn, PageReading("moebel.png", 1, "b" * 64, (coupon,)))
        Matcher().record(conn, PageReading("leer.png", 1, "0" * 64, (), reason="blank page"))
    items = {("moebel" if i.client == B else "unknown"): i.id for i in open_items(two.store)}
    add_user(two.store, "anna", "admin", PASSWORD, clients=[A])
    add_user(two.store, "ben", "operator", PASSWORD, clients=[B])
    two.store.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from mailing.cli import main; sys.exit(main())",
                                 "--db", two.db, "serve", "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, items, code_b, two.db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def logged_in(base: str, name: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/review"})
        assert r.status_code == 303, r.text
        yield c


def test_an_operator_of_one_client_cannot_see_or_resolve_another_clients_review_item(served) -> None:
    base, items, code_b, db = served
    with logged_in(base, "anna") as anna:
        queue = anna.get("/review")
        assert queue.status_code == 200
        assert f"/review/items/{items['moebel']}" not in queue.text and f"/review/items/{items['unknown']}" \
            not in queue.text, "gartenwelt's operator is offered neither moebel's item nor a page of nobody known"
        token = csrf_of(queue.text)
        assert anna.get(f"/review/items/{items['moebel']}/picture").status_code == 404
        assert anna.get(f"/review/items/{items['moebel']}/box/info").status_code == 404
        for action in ({"action": "confirm", "opt_info": "on"}, {"action": "void"}):
            r = anna.post(f"/review/items/{items['moebel']}", data={"csrf_token": token, **action})
            assert r.status_code == 404, action
        typed = anna.post(f"/review/items/{items['unknown']}",
                          data={"csrf_token": token, "action": "confirm", "code": codes.format_code(code_b)})
        assert typed.status_code == 404, "nor can she put moebel's code on a page nobody knows yet"
        check = anna.get("/review/check", params={"code": codes.format_code(code_b)}).json()
        assert check["reason"] == "no such code" and check["options"] == {} and check["campaign"] is None
        desk = anna.get("/phone")
        found = anna.post("/phone", data={"csrf_token": csrf_of(desk.text), "code": code_b})
        assert found.status_code == 404, "moebel's letter is not found at gartenwelt's phone desk"
        search = anna.post("/phone", data={"csrf_token": csrf_of(desk.text), "name": "Maier", "postal_code": "17489"})
        assert search.status_code == 200 and CAMPAIGN_A in search.text and CAMPAIGN_B not in search.text, \
            "Laura Maier got a letter from both; gartenwelt's desk finds only gartenwelt's"
        listing = anna.get("/campaigns")
        assert CAMPAIGN_A in listing.text and CAMPAIGN_B not in listing.text
        assert anna.get(f"/campaigns/{CAMPAIGN_B}").status_code == 404
        assert anna.get(f"/campaigns/{CAMPAIGN_B}/report.xlsx").status_code == 404
        assert anna.get(f"/campaigns/{CAMPAIGN_A}").status_code == 200
    with logged_in(base, "ben") as ben:
        queue = ben.get("/review")
        assert queue.status_code == 200 and f"/review/items/{items['moebel']}" in queue.text
        assert ben.get(f"/review/items/{items['moebel']}/picture").status_code == 200
        r = ben.post(f"/review/items/{items['moebel']}",
                     data={"csrf_token": csrf_of(queue.text), "action": "confirm", "opt_info": "on"})
        assert r.status_code == 303
        assert f"/review/items/{items['unknown']}" not in ben.get("/review").text
        desk = ben.get("/phone")
        search = ben.post("/phone", data={"csrf_token": csrf_of(desk.text), "name": "Maier", "postal_code": "17489"})
        assert CAMPAIGN_B in search.text and CAMPAIGN_A not in search.text
    from mailing.store import Store

    store = Store.open(db)
    try:
        assert get_item(store, items["moebel"]).status == "resolved"
        assert get_item(store, items["unknown"]).status == "open"
    finally:
        store.dispose()
