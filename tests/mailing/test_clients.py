"""Several clients (Mandanten) in one store (issue 13, item 6): customer ids and objections per client,
Robinson, undeliverable, deceased and erased entries for all; the first release's store becomes the default
client. The PostgreSQL runs of the SQL parts are in test_clients_postgres.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from two_clients import CAMPAIGN_A, CAMPAIGN_B, A, B, campaign_file, code_of, make_two_clients

from mailing.campaigns import load, register_campaign
from mailing.cli import main
from mailing.errors import MailingError
from mailing.recipients import import_recipients
from mailing.review import open_items
from mailing.store import (
    SCHEMA_VERSION,
    Store,
    campaigns,
    clients,
    pieces,
    recipients,
    suppression,
    users,
    waves,
)
from mailing.suppression import suppressed_recipients
from mailing.users import add_user

ANNA = {"Vorname": "Anna", "Nachname": "Müller", "Straße": "Hauptstraße", "Hausnummer": "12", "PLZ": "10115",
        "Ort": "Berlin"}  # gartenwelt's K-1001, moebel's K-1050


def one_line_error(capsys) -> str:  # type: ignore[no-untyped-def]
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


def held(store: Store, campaign: str) -> set[tuple[str | None, str | None]]:
    """(first name, customer id) of the campaign's recipients the suppression list holds back."""
    with store.connect() as conn:
        cid, _ = load(conn, campaign)
        ids = suppressed_recipients(conn, cid)
        return {(r.first_name, r.customer_id) for r in conn.execute(
            select(recipients.c.first_name, recipients.c.customer_id).where(recipients.c.id.in_(list(ids))))}


def mailed(store: Store, campaign: str) -> set[tuple[str | None, str | None]]:
    """(first name, customer id) of everyone the campaign's waves hold a piece for."""
    with store.connect() as conn:
        return {(r.first_name, r.customer_id) for r in conn.execute(
            select(recipients.c.first_name, recipients.c.customer_id)
            .join(pieces, pieces.c.recipient_id == recipients.c.id).join(waves, waves.c.id == pieces.c.wave_id)
            .join(campaigns, campaigns.c.id == waves.c.campaign_id).where(campaigns.c.name == campaign))}


def plan(store: Store, campaign: str) -> None:
    from mailing.waves import plan_wave

    with store.begin() as conn:
        cid, c = load(conn, campaign)
        plan_wave(conn, cid, c)


def suppression_file(tmp: Path, rows: list[dict[str, str]]) -> Path:
    keys = sorted({k for r in rows for k in r})
    path = tmp / f"list-{len(list(tmp.glob('list-*')))}.csv"
    path.write_text(";".join(keys) + "\n" + "\n".join(";".join(r.get(k, "") for k in keys) for r in rows) + "\n",
                    encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ clients
def test_client_add_and_list_with_the_default_client_every_store_has(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "m.db")
    assert main(["--db", db, "client", "list", "--json"]) == 0
    assert [c["key"] for c in json.loads(capsys.readouterr().out)] == ["default"]
    assert main(["client", "add", "gartenwelt", "--name", "Gartenwelt Schneider GmbH", "--db", db]) == 0
    capsys.readouterr()
    assert main(["--db", db, "client", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["key"], c["name"], c["default"], c["campaigns"]) for c in listed] == [
        ("default", "Standard", True, 0), ("gartenwelt", "Gartenwelt Schneider GmbH", False, 0)]
    assert main(["--db", db, "client", "add", "gartenwelt"]) == 1
    assert "already exists" in one_line_error(capsys)
    assert main(["--db", db, "client", "add", "Garten Welt"]) == 1
    assert "lower-case" in one_line_error(capsys)


def test_campaign_file_names_its_client_and_one_without_belongs_to_the_default_client(tmp_path: Path,
                                                                                       capsys) -> None:
    two = make_two_clients(tmp_path, plan=False)
    register_campaign(two.store, campaign_file(two.folder, "ohne-mandant", None))
    with two.store.connect() as conn:
        owner = dict(conn.execute(select(campaigns.c.name, clients.c.key)
                                  .join(clients, clients.c.id == campaigns.c.client_id)).all())
    assert owner == {CAMPAIGN_A: A, CAMPAIGN_B: B, "ohne-mandant": "default"}
    unknown = campaign_file(two.folder, "neu-2026", "niemand")
    assert main(["--db", two.db, "campaign", "add", str(unknown)]) == 1
    err = one_line_error(capsys)
    assert str(unknown) in err and "mailing client add niemand" in err
    moved = campaign_file(two.folder, CAMPAIGN_A, B)  # the same campaign, now naming the other client
    assert main(["--db", two.db, "campaign", "add", str(moved)]) == 1
    assert "never changes its client" in one_line_error(capsys)
    assert main(["--db", two.db, "campaign", "list", "--client", B, "--json"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)] == [CAMPAIGN_B]


# ----------------------------------------------------------------------------------------- customer ids
def test_colliding_customer_ids_of_two_clients_both_import_and_stay_apart(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path)
    for name, client in ((CAMPAIGN_A, A), (CAMPAIGN_B, B)):
        assert main(["--db", two.db, "status", name, "--client", client, "--json"]) == 0
        st = json.loads(capsys.readouterr().out)
        assert (st["recipients"], st["pieces"], st["client"]) == (50, 50, client)
    # the same list again adds nobody: "already present" is looked for within the campaign's client
    again = import_recipients(two.store, CAMPAIGN_B, two.list_b)
    assert (again.imported, again.already_present) == (0, 50)
    # status of one client's campaign under the other client is not found
    assert main(["--db", two.db, "status", CAMPAIGN_A, "--client", B, "--json"]) == 1
    assert "no campaign named" in one_line_error(capsys)
    # K-1001 is Anna Müller at gartenwelt and someone else at moebel: the id alone does not say whom
    out = tmp_path / "auskunft.json"
    assert main(["--db", two.db, "person", "export", "--customer-id", "K-1001", "--out", str(out)]) == 1
    err = one_line_error(capsys)
    assert "2 clients" in err and "--client" in err and not out.exists()
    assert main(["--db", two.db, "person", "export", "--customer-id", "K-1001", "--client", A,
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    # gartenwelt's Anna, and moebel's record of the same Anna (there under K-1050); never moebel's K-1001
    assert {(r["client"], r["customer_id"], r["first_name"]) for r in doc["records"]} == {
        (A, "K-1001", "Anna"), (B, "K-1050", "Anna")}
    # an audience is never taken from another client's campaign
    assert main(["--db", two.db, "import", CAMPAIGN_B, "--from", CAMPAIGN_A]) == 1
    assert "same client" in one_line_error(capsys)


# ---------------------------------------------------------------------------------------- suppression
def test_an_objection_to_one_client_still_lets_the_other_mail_the_person(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path, plan=False)
    by_id = suppression_file(tmp_path, [{"Kundennummer": "K-1001"}])  # gartenwelt's Anna
    assert main(["--db", two.db, "suppress", "import", str(by_id), "--reason", "objection", "--client", A]) == 0
    by_address = suppression_file(tmp_path, [{"Vorname": "Hans", "Nachname": "Schmidt", "Straße": "Lindenallee",
                                              "Hausnummer": "3", "PLZ": "20095", "Ort": "Hamburg"}])
    assert main(["--db", two.db, "suppress", "import", str(by_address), "--reason", "objection",
                 "--client", A]) == 0
    capsys.readouterr()
    assert held(two.store, CAMPAIGN_A) == {("Anna", "K-1001"), ("Hans", "K-1002")}
    assert held(two.store, CAMPAIGN_B) == set(), "neither moebel's K-1001 nor Anna nor Hans objected to moebel"
    plan(two.store, CAMPAIGN_A)
    plan(two.store, CAMPAIGN_B)
    assert ("Anna", "K-1001") not in mailed(two.store, CAMPAIGN_A)
    assert {("Anna", "K-1050"), ("Hans", "K-1049")} <= mailed(two.store, CAMPAIGN_B)
    assert len(mailed(two.store, CAMPAIGN_B)) == 50


@pytest.mark.parametrize("reason", ["robinson", "undeliverable", "deceased"])
def test_robinson_returned_and_deceased_entries_hold_back_every_client(tmp_path: Path, reason: str,
                                                                        capsys) -> None:
    two = make_two_clients(tmp_path, plan=False)
    f = suppression_file(tmp_path, [ANNA])
    assert main(["--db", two.db, "suppress", "import", str(f), "--reason", reason, "--client", A]) == 0
    assert held(two.store, CAMPAIGN_A) == {("Anna", "K-1001")}
    assert held(two.store, CAMPAIGN_B) == {("Anna", "K-1050")}
    plan(two.store, CAMPAIGN_B)
    assert ("Anna", "K-1050") not in mailed(two.store, CAMPAIGN_B) and len(mailed(two.store, CAMPAIGN_B)) == 49


def test_customer_ids_on_a_robinson_list_are_the_naming_clients_ids(tmp_path: Path) -> None:
    """A customer id means a person only within its client: moebel's K-1001 is not gartenwelt's."""
    two = make_two_clients(tmp_path, plan=False)
    f = suppression_file(tmp_path, [{"Kundennummer": "K-1001"}])
    assert main(["--db", two.db, "suppress", "import", str(f), "--reason", "deceased", "--client", B]) == 0
    assert held(two.store, CAMPAIGN_B) == {("Laura", "K-1001")}, "moebel's K-1001 is gartenwelt's K-1050"
    assert held(two.store, CAMPAIGN_A) == set()


def test_suppression_import_into_a_store_with_several_clients_names_the_client(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path, plan=False)
    f = suppression_file(tmp_path, [ANNA])
    assert main(["--db", two.db, "suppress", "import", str(f), "--reason", "objection"]) == 1
    assert "--client" in one_line_error(capsys)
    with two.store.connect() as conn:
        assert conn.execute(select(suppression.c.id)).first() is None, "nothing half-written"


def test_opt_out_on_a_coupon_binds_the_letters_client_only(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path)
    with two.store.begin() as conn:  # the wave counts as sent, so the letter can be answered
        conn.execute(waves.update().values(status="produced"))
    code = code_of(two.store, CAMPAIGN_A, "K-1001")
    assert main(["--db", two.db, "respond", code, "--channel", "phone", "optout=yes"]) == 0
    assert held(two.store, CAMPAIGN_A) == {("Anna", "K-1001")}
    assert held(two.store, CAMPAIGN_B) == set()


def test_an_erased_person_is_never_mailed_again_by_any_client(tmp_path: Path, capsys) -> None:
    """Erasure is kept as a keyed hash that binds every client: the store holds nothing else of them."""
    two = make_two_clients(tmp_path)
    assert main(["--db", two.db, "person", "erase", "--customer-id", "K-1001", "--client", A]) == 0
    capsys.readouterr()
    register_campaign(two.store, campaign_file(two.folder, "moebel-herbst", B))
    summary = import_recipients(two.store, "moebel-herbst", two.list_b)
    assert summary.erased == 1 and summary.imported == 49, "moebel's list still holds Anna: not stored again"


def test_contact_cap_counts_the_letters_of_one_client_only(tmp_path: Path) -> None:
    from datetime import date

    from mailing.config import ContactCap
    from mailing.contacts import over_cap

    two = make_two_clients(tmp_path)
    with two.store.begin() as conn:
        conn.execute(waves.update().values(status="produced", drop_date=date(2026, 3, 2)))
    with two.store.connect() as conn:
        cid_b, _ = load(conn, CAMPAIGN_B)
        rows = conn.execute(select(recipients.c.id, recipients.c.customer_id, recipients.c.match_key,
                                   recipients.c.first_name).where(recipients.c.campaign_id == cid_b)).all()
        client_b = conn.execute(select(clients.c.id).where(clients.c.key == B)).scalar_one()
        cap = ContactCap(letters=2, days=30)
        assert over_cap(conn, rows, cap, date(2026, 3, 10), client_b) == set(), "one letter from moebel each"
        assert len(over_cap(conn, rows, cap, date(2026, 3, 10), None)) == 50, "two letters store-wide"
        assert len(over_cap(conn, rows, ContactCap(letters=1, days=30), date(2026, 3, 10), client_b)) == 50


# ----------------------------------------------------------------------------------------------- review
def test_review_lists_only_the_named_clients_items(tmp_path: Path, capsys) -> None:
    from mailing.matching import Matcher
    from scanning.results import BoxReading, CouponReading, PageReading

    two = make_two_clients(tmp_path)
    code = code_of(two.store, CAMPAIGN_B, "K-1001")
    doubtful = CouponReading(payload=code, code=code, check_ok=True, decoder="test", registered=True,
                             boxes=(BoxReading(0, 0.2, "doubtful"), BoxReading(1, 0.0, "empty"),
                                    BoxReading(2, 0.0, "empty")))
    with two.store.begin() as conn:
        Matcher().record(conn, PageReading("b.png", 1, "b" * 64, (doubtful,)))
        Matcher().record(conn, PageReading("blank.png", 1, "0" * 64, (), reason="blank page"))
    assert main(["--db", two.db, "review", "--client", B, "--json", "--pictures", str(tmp_path / "p")]) == 0
    assert [(i["kind"], i["client"]) for i in json.loads(capsys.readouterr().out)] == [("doubtful", B)]
    assert main(["--db", two.db, "review", "--client", A, "--json", "--pictures", str(tmp_path / "p")]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert len(open_items(two.store)) == 2, "without --client: everything"


# ----------------------------------------------------------------------------------------- migration
def test_first_release_store_upgrades_into_the_default_client_with_equal_status(tmp_path: Path, capsys) -> None:
    from test_migrations import first_release_store

    db = str(first_release_store(tmp_path / "old.db"))
    assert main(["--db", db, "db", "upgrade"]) == 0
    capsys.readouterr()
    store = Store.open(db)
    assert store.schema_version() == SCHEMA_VERSION
    with store.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(clients.c.key, clients.c.name))] == [("default", "Standard")]
        default = conn.execute(select(clients.c.id)).scalar_one()
        assert {r[0] for r in conn.execute(select(campaigns.c.client_id))} == {default}
        assert {r[0] for r in conn.execute(select(suppression.c.client_id))} <= {default}
        assert conn.execute(select(suppression.c.id)).first() is not None
    store.dispose()
    assert main(["--db", db, "status", "fruehjahr-2026", "--client", "default", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["recipients"], st["responses"], st["undeliverable"], st["client"]) == (50, 20, 3, "default")
    # a second client's campaign next to it: the old objections do not bind it
    assert main(["--db", db, "client", "add", "moebel"]) == 0
    capsys.readouterr()


def test_users_of_an_upgraded_schema3_store_see_the_default_client(tmp_path: Path) -> None:
    """A store of schema 3 (the last before clients) with a user: after `db upgrade` the user is listed for
    the default client, so once a second client is added they see it only when given it."""
    from alembic import command
    from sqlalchemy import create_engine, insert, text

    from mailing import migrate

    db = tmp_path / "s3.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        cfg = migrate._alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(insert(users).values(name="anna", role="operator", password_hash="x"))
        assert conn.execute(text("select value from meta where key='schema_version'")).scalar() == "3"
    engine.dispose()
    with pytest.raises(MailingError, match="db upgrade"):
        Store.open(str(db))
    assert main(["--db", str(db), "db", "upgrade"]) == 0
    from mailing.users import list_users

    store = Store.open(str(db))
    assert [(u.name, u.clients) for u in list_users(store)] == [("anna", ("default",))]
    add_user(store, "ben", "operator", "richtig-geheim-42")
    assert [(u.name, u.clients) for u in list_users(store)][1] == ("ben", ())
    store.dispose()


def test_user_clients_are_set_listed_and_checked(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path, plan=False)
    add_user(two.store, "ben", "operator", "richtig-geheim-42", clients=[B])
    assert main(["--db", two.db, "user", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "ben", "role": "operator", "clients": [B]}]
    assert main(["--db", two.db, "user", "clients", "ben", "--client", A, "--client", B]) == 0
    assert main(["--db", two.db, "user", "clients", "ben", "--all"]) == 0
    capsys.readouterr()
    assert main(["--db", two.db, "user", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["clients"] == []
    assert main(["--db", two.db, "user", "clients", "ben", "--client", "niemand"]) == 1
    assert "no client 'niemand'" in one_line_error(capsys)
    with pytest.raises(MailingError, match="no client"):
        add_user(two.store, "carla", "operator", "richtig-geheim-42", clients=["niemand"])


def test_consent_withdrawal_by_customer_id_names_the_client(tmp_path: Path, capsys) -> None:
    two = make_two_clients(tmp_path)
    assert main(["--db", two.db, "consent", "withdraw", "--customer-id", "K-1001"]) == 1
    assert "--client" in one_line_error(capsys)
    assert main(["--db", two.db, "consent", "withdraw", "--customer-id", "K-1001", "--client", B, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 2, "moebel's Laura and gartenwelt's record of her"
