"""The web front end on a PostgreSQL store: answers, races between channels, sessions across processes.

Runs when MAILING_TEST_POSTGRES names a database it may empty; skipped otherwise, with that reason.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from at_once import answer_at_once
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from mailing.campaigns import init_example, load, register_campaign
from mailing.recipients import import_recipients
from mailing.respond import respond
from mailing.status import campaign_status
from mailing.store import Store, pieces, utcnow, waves
from mailing.waves import plan_wave
from mailing.web.app import create_app
from mailing.web.security import SESSION_COOKIE, store_secret
from tests.web.conftest import RESPONSE_URL, app_with_test_login
from tests.web.test_answer import answer

BASE_URL = os.environ.get("MAILING_TEST_POSTGRES")
SCHEMA = "mailing_web_tests"  # a schema of its own: other PostgreSQL tests empty the same database meanwhile
URL = (make_url(BASE_URL).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
       .render_as_string(hide_password=False) if BASE_URL else None)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")]


@pytest.fixture
def pg_store(tmp_path: Path):
    assert URL and BASE_URL
    engine = create_engine(BASE_URL)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    files = init_example(tmp_path / "ex")
    toml = files[0].read_text(encoding="utf-8")
    files[0].write_text(toml.replace(f'# response_url = "{RESPONSE_URL}"', f'response_url = "{RESPONSE_URL}"'),
                        encoding="utf-8")
    store = Store.open(URL)
    campaign, _ = register_campaign(store, files[0])
    import_recipients(store, campaign.name, files[1])
    with store.begin() as conn:
        cid, c = load(conn, campaign.name)
        wave_id = plan_wave(conn, cid, c, drop_date=date(2026, 3, 2))
        # sent without printing: what is tested here is the answer, not the print file
        conn.execute(update(waves).where(waves.c.id == wave_id).values(status="produced", produced_at=utcnow()))
    yield store, campaign.name
    store.dispose()


def test_answers_online_and_by_phone_on_postgresql(pg_store) -> None:
    store, name = pg_store
    with store.connect() as conn:
        codes = [r[0] for r in conn.execute(select(pieces.c.code).order_by(pieces.c.id).limit(3))]
    with TestClient(create_app(store), base_url="https://testserver") as client:
        assert answer(client, codes[0], "info").status_code == 200
    assert respond(store, codes[1], {"call": True}, "phone").status == "matched"
    assert respond(store, codes[0], {"optout": True}, "phone").status == "duplicate"
    st = campaign_status(store, name)
    assert st["responses_by_channel"] == {"paper": 0, "online": 1, "phone": 1}


def test_simultaneous_answers_count_once_on_postgresql(pg_store) -> None:
    store, name = pg_store
    with store.connect() as conn:
        code = conn.execute(select(pieces.c.code).order_by(pieces.c.id).limit(1)).scalar_one()
    results, errors = answer_at_once(store, code)
    assert errors == [] and sorted(results) == ["duplicate"] * 5 + ["matched"]
    assert campaign_status(store, name)["responses"] == 1


def test_two_server_processes_share_secret_and_logouts(pg_store) -> None:
    """Two `mailing serve` processes behind one proxy: a cookie of one is good at the other, and a logout at
    one ends the session at both."""
    store, _ = pg_store
    other = Store.open(URL)
    try:
        assert store_secret(store) == store_secret(other)
        with TestClient(app_with_test_login(store), base_url="https://testserver") as a, \
                TestClient(app_with_test_login(other), base_url="https://testserver") as b:
            a.post("/test-login", data={"name": "anna", "role": "operator"})
            b.cookies.set(SESSION_COOKIE, a.cookies[SESSION_COOKIE])
            assert b.get("/phone").status_code == 200
            a.post("/test-logout")
            assert b.get("/phone", follow_redirects=False).status_code == 303
    finally:
        other.dispose()

