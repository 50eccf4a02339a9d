"""Answers given on the phone: the agents' page (behind the login) and `mailing respond`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from mailing import codes
from mailing.cli import main
from mailing.status import campaign_status
from mailing.store import Store, audit_log, pieces, responses
from tests.web.conftest import CAMPAIGN, staff_client
from tests.web.test_answer import answer, csrf_of, suppressed


def source_of(store: Store, code: str) -> str | None:
    with store.connect() as conn:
        return conn.execute(select(responses.c.source).join(pieces, pieces.c.id == responses.c.piece_id)
                             .where(pieces.c.code == code)).scalar()


def test_phone_desk_needs_a_login(client) -> None:
    res = client.get("/phone", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/login?next=/phone"
    assert client.post("/phone/letters/1", data={}, follow_redirects=False).status_code == 303


def test_phone_answer_by_code_recorded_with_channel_phone_under_the_agents_name(web_store: Store, letters) -> None:
    code = letters[0]["code"]
    with staff_client(web_store, "operator", "berta") as c:
        desk = c.get("/phone")
        found = c.post("/phone", data={"csrf_token": csrf_of(desk.text), "code": codes.format_code(code).lower()},
                       follow_redirects=False)
        assert found.status_code == 303
        page = c.get(found.headers["location"])
        assert letters[0]["last_name"] in page.text and letters[0]["postal_code"] in page.text
        done = c.post(found.headers["location"], data={"csrf_token": csrf_of(page.text), "option": ["call"]})
        assert done.status_code == 200 and "Antwort gespeichert" in done.text
    assert source_of(web_store, code) == "phone"
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses_by_channel"]["phone"] == 1 and st["options"]["call"] == 1
    with web_store.connect() as conn:
        actors = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "response.answer")).scalars().all()
    assert actors == ["berta"]


def test_phone_search_by_name_and_postal_code(web_store: Store, letters) -> None:
    person = next(x for x in letters if x["last_name"] and not x["company"])
    with staff_client(web_store, "operator") as c:
        desk = c.get("/phone")
        res = c.post("/phone", data={"csrf_token": csrf_of(desk.text), "name": person["last_name"][:3].lower(),
                                     "postal_code": person["postal_code"]})
        assert res.status_code == 200 and person["last_name"] in res.text and "/phone/letters/" in res.text
        short = c.post("/phone", data={"csrf_token": csrf_of(desk.text), "name": "x", "postal_code": ""})
        assert short.status_code == 422 and "Postleitzahl" in short.text


def test_phone_answer_after_an_online_one_is_a_duplicate_but_its_objection_counts(client, web_store: Store,
                                                                                  letters) -> None:
    code = letters[1]["code"]
    answer(client, code, "info")
    with staff_client(web_store, "operator") as c:
        desk = c.get("/phone")
        loc = c.post("/phone", data={"csrf_token": csrf_of(desk.text), "code": code},
                     follow_redirects=False).headers["location"]
        page = c.get(loc)
        assert "Bereits beantwortet" in page.text and "online" in page.text
        done = c.post(loc, data={"csrf_token": csrf_of(page.text), "option": ["optout"]})
        assert "Nicht mitgezählt" in done.text and "Sperrliste" in done.text
    assert source_of(web_store, code) == "online"
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 1
    assert suppressed(web_store, code)


def test_phone_page_refuses_a_post_without_csrf_token(web_store: Store, letters) -> None:
    with staff_client(web_store, "operator") as c:
        desk = c.get("/phone")
        loc = c.post("/phone", data={"csrf_token": csrf_of(desk.text), "code": letters[0]["code"]},
                     follow_redirects=False).headers["location"]
        assert c.post(loc, data={"option": ["info"]}).status_code == 403
    assert source_of(web_store, letters[0]["code"]) is None


# --- mailing respond -------------------------------------------------------------------------------------

def respond(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--db", str(db), "respond", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_respond_records_a_phone_answer(web_db: Path, letters, capsys) -> None:
    code = letters[0]["code"]
    rc, out, err = respond(web_db, capsys, codes.format_code(code).lower(), "--channel", "phone", "info=yes",
                           "call=no", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["status"] == "matched" and data["channel"] == "phone"
    assert data["options"] == {"info": True, "call": False, "optout": False}
    store = Store.open(str(web_db))
    try:
        assert source_of(store, code) == "phone"
        assert campaign_status(store, CAMPAIGN)["responses_by_channel"] == {"paper": 0, "online": 0, "phone": 1}
    finally:
        store.dispose()


def test_cli_respond_optout_suppressed_at_once_and_second_answer_is_duplicate(web_db: Path, letters, capsys) -> None:
    code = letters[1]["code"]
    assert respond(web_db, capsys, code, "--channel", "phone", "info=yes")[0] == 0
    rc, out, _ = respond(web_db, capsys, code, "--channel", "phone", "optout=yes")
    assert rc == 0 and out.startswith("duplicate:") and "suppression list" in out
    store = Store.open(str(web_db))
    try:
        assert suppressed(store, code)
        assert campaign_status(store, CAMPAIGN)["options"] == {"info": 1, "call": 0, "optout": 0}
    finally:
        store.dispose()


@pytest.mark.parametrize("args, message", [
    (["ABC", "--channel", "phone"], "wrong length"),
    (["{unknown}", "--channel", "phone"], "no letter was sent with code"),
    (["{code}", "--channel", "phone", "fax=yes"], "unknown option 'fax'"),
    (["{code}", "--channel", "phone", "info=maybe"], "KEY=yes or KEY=no"),
    (["{code}", "--channel", "phone", "call=yes", "optout=yes"], "ask which one is meant"),
])
def test_cli_respond_refuses_in_one_line(web_db: Path, letters, capsys, args: list[str], message: str) -> None:
    unknown = codes.new_code()
    args = [a.format(code=letters[2]["code"], unknown=unknown) for a in args]
    rc, out, err = respond(web_db, capsys, *args)
    assert rc == 1 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    store = Store.open(str(web_db))
    try:
        assert campaign_status(store, CAMPAIGN)["responses"] == 0
    finally:
        store.dispose()



def test_status_splits_responses_by_channel(client, web_db: Path, letters, capsys) -> None:
    answer(client, letters[0]["code"], "info")
    assert respond(web_db, capsys, letters[1]["code"], "--channel", "phone", "call=yes")[0] == 0
    capsys.readouterr()
    assert main(["--db", str(web_db), "status", CAMPAIGN]) == 0
    out = capsys.readouterr().out
    assert "by channel: paper 0, online 1, phone 1" in out


def test_answers_to_one_letter_at_the_same_moment_count_once(web_store: Store, letters) -> None:
    """Online and phone (and a double tap) at once: one counted response, the others duplicates."""
    from at_once import answer_at_once

    results, errors = answer_at_once(web_store, letters[7]["code"])
    assert errors == []
    assert sorted(results) == ["duplicate"] * 5 + ["matched"]
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 1
