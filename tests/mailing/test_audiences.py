"""`mailing import CAMPAIGN --from OTHER [--responders | --non-responders | --option KEY]` (issue 14)."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from mailing.cli import main
from mailing.store import Store, imports, recipients
from tests.mailing.cycle import coupon_scan, run, scan_json, setup_campaign


def _second_campaign(tmp: Path, capsys, db: Path, name: str = "herbst-2026") -> str:
    text = (tmp / "c" / "campaign.toml").read_text(encoding="utf-8")
    toml = tmp / "c2.toml"
    toml.write_text(text.replace('name = "fruehjahr-2026"', f'name = "{name}"', 1), encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    return name


def _customers(db: Path, campaign_name: str) -> set[str]:
    from mailing.campaigns import campaign_row

    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            cid = campaign_row(conn, campaign_name).id
            return {r[0] for r in conn.execute(select(recipients.c.customer_id)
                                               .where(recipients.c.campaign_id == cid, recipients.c.active.is_(True)))}
    finally:
        store.dispose()


def _answered(tmp: Path, capsys, url: str | None = None):
    db, name, rows = setup_campaign(tmp, capsys, db=url)
    rows = [r for r in rows if r["customer_id"]]
    info, plain, returned = rows[0], rows[1], rows[2]
    run(capsys, db, "respond", info["code"], "--channel", "phone", "info=yes")
    run(capsys, db, "respond", plain["code"], "--channel", "phone", "info=no")
    letter = coupon_scan(tmp / "print", returned, [], tmp / "returned.png", random.Random(1), whole_page=True)
    assert scan_json(capsys, db, letter, "--returned-mail")[0]["status"] == "returned"
    return db, name, rows, info, plain, returned


def test_import_from_earlier_campaign_selects_by_response_and_counts_suppressed(tmp_path: Path, capsys) -> None:
    check_import_from_earlier_campaign(tmp_path, capsys)


def check_import_from_earlier_campaign(tmp_path: Path, capsys, url: str | None = None) -> None:
    db, name, rows, info, plain, returned = _answered(tmp_path, capsys, url)
    everyone = {r["customer_id"] for r in rows}
    other = _second_campaign(tmp_path, capsys, db)

    out = run(capsys, db, "import", other, "--from", name, "--responders")
    assert "campaign:fruehjahr-2026 --responders: 2 chosen, 2 imported" in out
    assert _customers(db, other) == {info["customer_id"], plain["customer_id"]}

    third = _second_campaign(tmp_path, capsys, db, "winter-2026")
    run(capsys, db, "import", third, "--from", name, "--option", "info")
    assert _customers(db, third) == {info["customer_id"]}

    # an objection filed meanwhile: the person is not taken over, and counted
    objector = rows[3]["customer_id"]
    (tmp_path / "widerspruch.csv").write_text(f"Kundennummer\n{objector}\n", encoding="utf-8")
    run(capsys, db, "suppress", "import", tmp_path / "widerspruch.csv", "--reason", "objection")
    fourth = _second_campaign(tmp_path, capsys, db, "reaktivierung")
    out = run(capsys, db, "import", fourth, "--from", name, "--non-responders")
    assert "1 suppressed (not added)" in out
    expected = everyone - {info["customer_id"], plain["customer_id"], returned["customer_id"], objector}
    assert _customers(db, fourth) == expected

    # importing the same selection again adds nobody twice
    out = run(capsys, db, "import", fourth, "--from", name, "--non-responders")
    assert f"0 imported, {len(expected)} already present" in out
    assert _customers(db, fourth) == expected

    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            sources = [r.source_file for r in conn.execute(select(imports).order_by(imports.c.id))]
    finally:
        store.dispose()
    assert "campaign:fruehjahr-2026 --non-responders" in sources
    assert "campaign:fruehjahr-2026 --option info" in sources


def test_import_from_refuses_unknown_option_and_mixed_arguments(tmp_path: Path, capsys) -> None:
    db, name, _ = setup_campaign(tmp_path, capsys)
    other = _second_campaign(tmp_path, capsys, db)
    for args in (["--from", name, "--option", "nope"], ["--from", name, "x.csv"], ["--responders"],
                 ["--from", "unknown-campaign"]):
        capsys.readouterr()
        assert main(["--db", str(db), "import", other, *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
