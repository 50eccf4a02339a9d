"""Several clients on PostgreSQL (issue 13, item 6): the SQL that keeps clients apart (suppression joins,
the contact cap, the review queue's claim with its visibility subquery, the person lookup) run there too.

Each test works in a schema of its own (`?options=-csearch_path=...`), so other PostgreSQL tests running at
the same time in the same database are not disturbed. Skipped without MAILING_TEST_POSTGRES.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from two_clients import CAMPAIGN_A, CAMPAIGN_B, A, B, code_of, make_two_clients

from mailing.campaigns import load
from mailing.cli import main
from mailing.clients import access_for_key
from mailing.store import clients, recipients, waves
from tests.web.station_queue import own_schema

URL = os.environ.get("MAILING_TEST_POSTGRES")

pytestmark = pytest.mark.skipif(not URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")


def pg_url(schema: str) -> str:
    assert URL
    return own_schema(URL, schema)


def test_two_clients_on_postgresql_keep_customer_ids_and_objections_apart(tmp_path: Path, capsys) -> None:
    from test_clients import ANNA, held, mailed, plan, suppression_file

    two = make_two_clients(tmp_path, url=pg_url("clients_apart"), plan=False)
    try:
        objection = suppression_file(tmp_path, [{"Kundennummer": "K-1001"}])
        assert main(["--db", two.db, "suppress", "import", str(objection), "--reason", "objection",
                     "--client", A]) == 0
        robinson = suppression_file(tmp_path, [{**ANNA, "Vorname": "Hans", "Nachname": "Schmidt",
                                                "Straße": "Lindenallee", "Hausnummer": "3", "PLZ": "20095",
                                                "Ort": "Hamburg"}])
        assert main(["--db", two.db, "suppress", "import", str(robinson), "--reason", "robinson",
                     "--client", A]) == 0
        assert held(two.store, CAMPAIGN_A) == {("Anna", "K-1001"), ("Hans", "K-1002")}
        assert held(two.store, CAMPAIGN_B) == {("Hans", "K-1049")}, "Robinson binds every client, the objection not"
        plan(two.store, CAMPAIGN_A)
        plan(two.store, CAMPAIGN_B)
        assert len(mailed(two.store, CAMPAIGN_A)) == 48 and len(mailed(two.store, CAMPAIGN_B)) == 49
        assert ("Anna", "K-1050") in mailed(two.store, CAMPAIGN_B)
        capsys.readouterr()
        out = tmp_path / "a.json"
        assert main(["--db", two.db, "person", "export", "--customer-id", "K-1001", "--out", str(out)]) == 1
        assert "--client" in capsys.readouterr().err
        assert main(["--db", two.db, "person", "export", "--customer-id", "K-1001", "--client", B,
                     "--out", str(out)]) == 0
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert {(r["client"], r["customer_id"], r["first_name"]) for r in doc["records"]} == {
            (B, "K-1001", "Laura"), (A, "K-1050", "Laura")}
    finally:
        two.store.dispose()


def test_review_queue_and_contact_cap_per_client_on_postgresql(tmp_path: Path) -> None:
    from mailing.config import ContactCap
    from mailing.contacts import over_cap
    from mailing.matching import Matcher
    from mailing.review import claim_next, open_count
    from scanning.results import BoxReading, CouponReading, PageReading

    two = make_two_clients(tmp_path, url=pg_url("clients_review"))
    try:
        code = code_of(two.store, CAMPAIGN_B, "K-1001")
        coupon = CouponReading(payload=code, code=code, check_ok=True, decoder="test", registered=True,
                               boxes=(BoxReading(0, 0.2, "doubtful"),))
        with two.store.begin() as conn:
            Matcher().record(conn, PageReading("b.png", 1, "b" * 64, (coupon,)))
            Matcher().record(conn, PageReading("leer.png", 1, "0" * 64, (), reason="blank page"))
            conn.execute(waves.update().values(status="produced", drop_date=date(2026, 3, 2)))
            access_a, access_b = access_for_key(conn, A), access_for_key(conn, B)
        assert claim_next(two.store, "anna", access=access_a) is None
        assert open_count(two.store, access_a) == 0 and open_count(two.store, access_b) == 1
        mine = claim_next(two.store, "ben", access=access_b)
        assert mine is not None and claim_next(two.store, "chef") not in (None, mine)
        with two.store.connect() as conn:
            cid_b, _ = load(conn, CAMPAIGN_B)
            rows = conn.execute(select(recipients.c.id, recipients.c.customer_id, recipients.c.match_key,
                                       recipients.c.first_name).where(recipients.c.campaign_id == cid_b)).all()
            client_b = conn.execute(select(clients.c.id).where(clients.c.key == B)).scalar_one()
            assert over_cap(conn, rows, ContactCap(letters=2, days=30), date(2026, 3, 10), client_b) == set()
            assert len(over_cap(conn, rows, ContactCap(letters=2, days=30), date(2026, 3, 10))) == 50
    finally:
        two.store.dispose()


def test_schema_version_and_default_client_of_a_new_store_on_postgresql(tmp_path: Path, capsys) -> None:
    url = pg_url("clients_new")
    assert main(["--db", url, "client", "list", "--json"]) == 0
    assert [c["key"] for c in json.loads(capsys.readouterr().out)] == ["default"]
