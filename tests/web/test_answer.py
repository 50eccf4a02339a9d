"""The public answer page over HTTP: what it shows, what it records, and what it refuses."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from starlette.testclient import TestClient

from mailing import codes
from mailing.status import campaign_status
from mailing.store import Store, pieces, recipients, responses, suppression
from tests.web.conftest import ANSWER_PATH, CAMPAIGN


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def answer(client: TestClient, code: str, *options: str, path: str | None = None):
    url = path or f"{ANSWER_PATH}/{code}"
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={"csrf_token": csrf_of(page.text), "option": list(options)})


def test_answer_page_shows_subject_greeting_and_options_but_no_address(client: TestClient, letters) -> None:
    letter = next(x for x in letters if x["street"] and x["last_name"])
    page = client.get(f"{ANSWER_PATH}/{letter['code']}")
    assert page.status_code == 200
    assert 'lang="de"' in page.text and 'name="viewport"' in page.text
    assert letter["last_name"] in page.text  # the greeting names the person
    assert letter["street"] not in page.text and letter["postal_code"] not in page.text
    assert page.text.count('type="checkbox"') == 3
    assert "Bitte rufen Sie mich an." in page.text


def test_answer_path_is_case_insensitive_and_takes_hyphens(client: TestClient, letters) -> None:
    code = letters[0]["code"]
    for url in (f"/R/{code}", f"{ANSWER_PATH}/{codes.format_code(code).lower()}", f"{ANSWER_PATH}/{code}/"):
        assert client.get(url).status_code == 200, url


def test_answer_recorded_with_channel_online(client: TestClient, web_store: Store, letters) -> None:
    code = letters[0]["code"]
    res = answer(client, code, "info")
    assert res.status_code == 200 and "Vielen Dank" in res.text
    with web_store.connect() as conn:
        row = conn.execute(select(responses.c.source).join(pieces, pieces.c.id == responses.c.piece_id)
                           .where(pieces.c.code == code)).one()
    assert row.source == "online"
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses"] == 1 and st["responses_by_channel"]["online"] == 1 and st["options"]["info"] == 1


def suppressed(store: Store, code: str) -> bool:
    from mailing.suppression import suppressed_recipients

    with store.connect() as conn:
        rid, cid = conn.execute(select(pieces.c.recipient_id, recipients.c.campaign_id)
                                .join(recipients, recipients.c.id == pieces.c.recipient_id)
                                .where(pieces.c.code == code)).one()
        return rid in suppressed_recipients(conn, cid)


def test_optout_online_is_on_the_suppression_list_at_once(client: TestClient, web_store: Store, letters) -> None:
    code = letters[1]["code"]
    assert not suppressed(web_store, code)
    res = answer(client, code, "optout")
    assert res.status_code == 200 and "keine Werbung mehr" in res.text
    assert suppressed(web_store, code), "suppressed in the transaction that recorded the answer"
    with web_store.connect() as conn:
        src = conn.execute(select(suppression.c.source).order_by(suppression.c.id.desc())).scalars().first()
    assert src == "online"


def test_second_online_answer_is_not_counted_but_its_objection_is(client: TestClient, web_store: Store,
                                                                  letters) -> None:
    code = letters[2]["code"]
    answer(client, code, "info")
    again = client.get(f"{ANSWER_PATH}/{code}")
    assert "bereits vor" in again.text and again.text.count('type="checkbox"') == 1  # only the objection
    res = client.post(f"{ANSWER_PATH}/{code}", data={"csrf_token": csrf_of(again.text), "option": ["optout", "call"]})
    assert res.status_code == 200 and "nicht noch einmal gezählt" in res.text
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses"] == 1 and st["options"] == {"info": 1, "call": 0, "optout": 0}
    assert suppressed(web_store, code)


def test_call_and_optout_together_are_refused_with_a_question(client: TestClient, web_store: Store, letters) -> None:
    code = letters[3]["code"]
    res = answer(client, code, "call", "optout")
    assert res.status_code == 422 and "eines von beiden" in res.text
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 0
    assert not suppressed(web_store, code)


def test_nothing_ticked_is_not_a_response(client: TestClient, web_store: Store, letters) -> None:
    res = answer(client, letters[4]["code"])
    assert res.status_code == 422 and "mindestens eine" in res.text
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 0


def test_typed_code_on_the_home_page_leads_to_the_answer_page(client: TestClient, letters) -> None:
    home = client.get("/")
    code = codes.format_code(letters[5]["code"]).lower()
    res = client.post("/", data={"csrf_token": csrf_of(home.text), "code": code}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith(f"{ANSWER_PATH}/")
    assert client.get(res.headers["location"]).status_code == 200


def test_code_under_another_path_is_unknown(client: TestClient, letters) -> None:
    assert client.get(f"/x/{letters[0]['code']}").status_code == 404
    assert client.get(f"/{letters[0]['code']}").status_code == 404


def test_paper_coupon_arriving_after_an_online_answer_is_a_duplicate(client: TestClient, web_store: Store, web_db,
                                                                     produced_db, tmp_path, capsys) -> None:
    import csv
    import random

    from tests.mailing.cycle import coupon_scan, scan_json

    print_dir = produced_db.parent / "print"
    with next(print_dir.rglob("*manifest*.csv")).open(encoding="utf-8-sig") as fh:
        row = next(csv.DictReader(fh))
    assert answer(client, row["code"], "info").status_code == 200
    coupon_scan(next(print_dir.rglob("*.pdf")).parent, row, [1], tmp_path / "coupon.png", random.Random(3))
    (line,) = scan_json(capsys, web_db, tmp_path / "coupon.png")
    assert line["code"] == row["code"] and line["status"] == "duplicate"
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses"] == 1 and st["duplicates"] == 1 and st["responses_by_channel"]["online"] == 1
    assert st["options"] == {"info": 1, "call": 0, "optout": 0}, "the first answer counts, not the paper one"


def test_online_answer_after_a_paper_coupon_is_a_duplicate(client: TestClient, web_store: Store, web_db,
                                                           produced_db, tmp_path, capsys) -> None:
    import csv
    import random

    from tests.mailing.cycle import coupon_scan, scan_json

    print_dir = produced_db.parent / "print"
    with next(print_dir.rglob("*manifest*.csv")).open(encoding="utf-8-sig") as fh:
        row = list(csv.DictReader(fh))[1]
    coupon_scan(next(print_dir.rglob("*.pdf")).parent, row, [0], tmp_path / "coupon.png", random.Random(4))
    assert [x["status"] for x in scan_json(capsys, web_db, tmp_path / "coupon.png")] == ["matched"]
    page = client.get(f"{ANSWER_PATH}/{row['code']}")
    assert "bereits vor" in page.text
    res = client.post(f"{ANSWER_PATH}/{row['code']}", data={"csrf_token": csrf_of(page.text), "option": ["call"]})
    assert "nicht noch einmal gezählt" in res.text
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses_by_channel"] == {"paper": 1, "online": 0, "phone": 0} and st["options"]["call"] == 0


def test_follow_up_rules_apply_to_online_and_phone_answers(client: TestClient, web_store: Store, letters,
                                                           tmp_path) -> None:
    from mailing.followup import run_followups
    from mailing.respond import respond

    answer(client, letters[0]["code"], "info")
    respond(web_store, letters[1]["code"], {"call": True}, "phone")
    answer(client, letters[2]["code"], "optout")
    res = run_followups(web_store, CAMPAIGN, as_of=date(2026, 3, 10), out_dir=tmp_path / "nachfass")
    by_rule = {r.rule: r for r in res.rules}
    assert by_rule["info-pack"].count == 1 and by_rule["call-list"].count == 1
    called = "\n".join(p.read_text(encoding="utf-8-sig") for p in (tmp_path / "nachfass").rglob("*.csv"))
    assert letters[1]["last_name"] in called and letters[0]["last_name"] not in called
    assert suppressed(web_store, letters[2]["code"])


def test_subject_with_address_merge_fields_shows_no_address(client: TestClient, web_store: Store, letters) -> None:
    """A subject may merge any field (`{ort}`, `{strasse}`); the answer page fills in names only."""
    from sqlalchemy import update

    from mailing.store import waves

    with web_store.begin() as conn:
        text = conn.execute(select(waves.c.config_toml)).scalar_one()
        for old in ("Ihr Frühjahrsangebot: 20 % auf alle Gartenmöbel", "Nur für Sie: 20 % auf Gartenmöbel bis 30. April"):
            text = text.replace(f'subject = "{old}"', 'subject = "{vorname}, Ihr Angebot für {strasse} in {plz} {ort}"')
        conn.execute(update(waves).values(config_toml=text))
    person = next(x for x in letters if x["first_name"] and x["street"])
    page = client.get(f"{ANSWER_PATH}/{person['code']}")
    assert f"{person['first_name']}, Ihr Angebot für in" in page.text
    assert person["street"] not in page.text and person["postal_code"] not in page.text
