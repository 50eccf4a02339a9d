"""The public answer page over HTTP: what it shows, what it records, and what it refuses."""

from __future__ import annotations

import re

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
